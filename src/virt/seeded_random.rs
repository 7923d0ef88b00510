//! Seeded randomness (`random_seed`): what getrandom and /dev/urandom
//! give a sandbox is a stream drawn from the seed, the same on every run.
//! xoshiro256** seeded through splitmix64: deterministic and well mixed,
//! not cryptographic (that is the point of a seed).

/// The purposes a seed serves, each its own stream, so that one's use
/// does not shift another's.
pub const GETRANDOM: u64 = 0;
pub const DEV_RANDOM: u64 = 1;
pub const AUXV: u64 = 2;

pub struct Stream {
    state: [u64; 4],
}

fn splitmix64(x: &mut u64) -> u64 {
    *x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *x;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Stream {
    /// The stream of `seed` for `purpose` (distinct streams for getrandom
    /// and the /dev files, so one's use does not shift the other).
    pub fn new(seed: u64, purpose: u64) -> Stream {
        let mut x = seed ^ purpose.wrapping_mul(0xd1b5_4a32_d192_ed03);
        Stream {
            state: [
                splitmix64(&mut x),
                splitmix64(&mut x),
                splitmix64(&mut x),
                splitmix64(&mut x),
            ],
        }
    }

    fn next(&mut self) -> u64 {
        let s = &mut self.state;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut out = vec![0; len];
        self.fill(&mut out);
        out
    }

    /// Fills `out` with the next bytes of the stream (a fill of n bytes
    /// and then m gives what one of n + m would when n is a multiple of 8).
    pub fn fill(&mut self, out: &mut [u8]) {
        for word in out.chunks_mut(8) {
            let next = self.next().to_le_bytes();
            word.copy_from_slice(&next[..word.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_is_a_stream() {
        assert_eq!(Stream::new(7, 0).bytes(33), Stream::new(7, 0).bytes(33));
        assert_ne!(Stream::new(7, 0).bytes(16), Stream::new(8, 0).bytes(16));
        assert_ne!(Stream::new(7, 0).bytes(16), Stream::new(7, 1).bytes(16));
        let mut pieces = Stream::new(7, 0);
        let mut two = pieces.bytes(16);
        two.extend(pieces.bytes(17));
        assert_eq!(two, Stream::new(7, 0).bytes(33));
    }
}
