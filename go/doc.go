// Package sandlock runs commands in a libsandlock sandbox from Go.
//
// A Policy says what a sandboxed command may touch (files, network,
// syscalls, limits); Policy.Spawn starts a command under it and returns a
// Sandbox, which Sandbox.Wait supervises until every process is gone.
//
// # Supervision without threads
//
// libsandlock starts no threads: the host polls one fd per sandbox and
// calls a non-blocking step function when it is readable. Wait hands that
// fd to Go's runtime poller, so a goroutine waiting on a sandbox is parked
// like one waiting on a socket, and thousands of sandboxes need no more OS
// threads than a handful of sockets do. Only the short, non-blocking step
// itself runs on a thread.
//
// # Errors
//
// Every failure of the library is an *Error carrying its errno and the
// library's message, which names the offending input:
//
//	err := p.NetAllow("10.0.0.0/33:80")
//	errors.Is(err, syscall.EINVAL) // true
//	err.Error() // sandlock: net_allow: "10.0.0.0/33:80": prefix length 33 is over 32
//
// # Concurrency
//
// A Policy and a Sandbox may be used from several goroutines. Spawns from
// one Policy are serialized (the library records a failed spawn's message
// on the policy); use one Policy per goroutine to spawn in parallel.
//
// Policies and sandboxes hold C memory and descriptors: Close them. A
// finalizer closes what is forgotten, but only when the garbage collector
// runs, and closing a Sandbox kills whatever is left of it.
package sandlock
