package sandlock

/*
#include <stdint.h>
#include <sandlock.h>
*/
import "C"

import "runtime/cgo"

// sandlockGoEvent is the C trampoline's way into Go. A panic must not
// unwind through the library's frames: it becomes a Kill.
//
//export sandlockGoEvent
func sandlockGoEvent(ev *C.sandlock_event, sb *C.sandlock_sandbox, handle C.uintptr_t) (verdict C.int) {
	live := &Live{ptr: sb}
	defer func() {
		live.ptr = nil
		if recover() != nil {
			verdict = C.SANDLOCK_VERDICT_KILL
		}
	}()
	cb := cgo.Handle(handle).Value().(*callback)
	return C.int(cb.fn(goEvent(ev), live))
}
