//! The Mersenne Twister MT19937 exactly as CPython's `random` module runs
//! it (`Modules/_randommodule.c`), so a seeded OSTEP homework run draws the
//! same numbers here as under `python3`.
//!
//! `random.seed(n)` for an integer `n` takes `abs(n)`, cuts it into 32-bit
//! words, least significant first (at least one word, so 0 is `[0]`), and
//! feeds them to Matsumoto and Nishimura's `init_by_array`.
//! `random.random()` takes two outputs and keeps 27 and 26 bits of them:
//! `(a * 2^26 + b) / 2^53` with `a = genrand >> 5`, `b = genrand >> 6`.

/// Words of state.
const N: usize = 624;
/// The middle word the twist mixes in.
const M: usize = 397;
const MATRIX_A: u32 = 0x9908_b0df;
const UPPER_MASK: u32 = 0x8000_0000;
const LOWER_MASK: u32 = 0x7fff_ffff;

/// The generator: 624 words of state and the index of the next one to
/// temper. Deterministic, no I/O: the same seed gives the same stream.
#[derive(Clone, Debug)]
pub struct Mt19937 {
    mt: [u32; N],
    mti: usize,
}

impl Mt19937 {
    /// `random.seed(seed)` for a non-negative integer that fits in 64 bits
    /// (CPython seeds with the absolute value, so pass `n.unsigned_abs()`).
    pub fn python_seed(seed: u64) -> Mt19937 {
        let (lo, hi) = (seed as u32, (seed >> 32) as u32);
        if hi == 0 {
            Mt19937::python_seed_words(&[lo])
        } else {
            Mt19937::python_seed_words(&[lo, hi])
        }
    }

    /// `random.seed(n)` for any integer, given as the 32-bit words of
    /// `abs(n)`, least significant first, without high zero words (CPython's
    /// `random_seed`). An empty slice is the seed 0.
    pub fn python_seed_words(key: &[u32]) -> Mt19937 {
        let key: &[u32] = if key.is_empty() { &[0] } else { key };
        let mut g = Mt19937::init_genrand(19_650_218);
        let mt = &mut g.mt;
        // init_by_array: mix every key word in, then stir the whole state.
        let (mut i, mut j) = (1usize, 0usize);
        for _ in 0..N.max(key.len()) {
            let prev = mt[i - 1] ^ (mt[i - 1] >> 30);
            mt[i] = (mt[i] ^ prev.wrapping_mul(1_664_525))
                .wrapping_add(key[j])
                .wrapping_add(j as u32);
            i += 1;
            j += 1;
            if i >= N {
                mt[0] = mt[N - 1];
                i = 1;
            }
            if j >= key.len() {
                j = 0;
            }
        }
        for _ in 0..N - 1 {
            let prev = mt[i - 1] ^ (mt[i - 1] >> 30);
            mt[i] = (mt[i] ^ prev.wrapping_mul(1_566_083_941)).wrapping_sub(i as u32);
            i += 1;
            if i >= N {
                mt[0] = mt[N - 1];
                i = 1;
            }
        }
        // The most significant bit set: the state is never all zeros.
        mt[0] = 0x8000_0000;
        g
    }

    /// `init_genrand`: the state from one 32-bit word by a linear
    /// congruential recurrence.
    fn init_genrand(s: u32) -> Mt19937 {
        let mut mt = [0u32; N];
        mt[0] = s;
        for i in 1..N {
            mt[i] = 1_812_433_253u32
                .wrapping_mul(mt[i - 1] ^ (mt[i - 1] >> 30))
                .wrapping_add(i as u32);
        }
        Mt19937 { mt, mti: N }
    }

    /// `genrand_uint32`: the next 32-bit output (`random.getrandbits(32)`).
    pub fn next_u32(&mut self) -> u32 {
        if self.mti >= N {
            self.twist();
        }
        let mut y = self.mt[self.mti];
        self.mti += 1;
        // Tempering.
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// `random.random()`: a float in [0, 1) with 53 random bits.
    pub fn random(&mut self) -> f64 {
        let a = self.next_u32() >> 5;
        let b = self.next_u32() >> 6;
        (f64::from(a) * 67_108_864.0 + f64::from(b)) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// Generate the next 624 words at once.
    fn twist(&mut self) {
        let mt = &mut self.mt;
        for k in 0..N {
            let y = (mt[k] & UPPER_MASK) | (mt[(k + 1) % N] & LOWER_MASK);
            let mag = if y & 1 == 1 { MATRIX_A } else { 0 };
            mt[k] = mt[(k + M) % N] ^ (y >> 1) ^ mag;
        }
        self.mti = 0;
    }
}

#[cfg(test)]
mod tests {
    //! Expected values printed by CPython 3.11: `random.seed(s)`, then
    //! `random.getrandbits(32)` twice and `repr(random.random())` twice.
    use super::Mt19937;

    fn first_draws(mut g: Mt19937) -> (u32, u32, f64, f64) {
        (g.next_u32(), g.next_u32(), g.random(), g.random())
    }

    #[test]
    fn seed_0_draws_what_cpython_draws() {
        let draws = first_draws(Mt19937::python_seed(0));
        assert_eq!(
            draws,
            (
                3626764237,
                1654615998,
                0.7579544029403025,
                0.420571580830845
            )
        );
    }

    #[test]
    fn seed_0_first_random_is_cpythons_0_8444() {
        assert_eq!(Mt19937::python_seed(0).random(), 0.8444218515250481);
    }

    #[test]
    fn seed_1_and_seed_10_draw_what_cpython_draws() {
        assert_eq!(
            first_draws(Mt19937::python_seed(1)),
            (577090037, 2444712010, 0.8474337369372327, 0.763774618976614)
        );
        assert_eq!(
            first_draws(Mt19937::python_seed(10)),
            (
                2454155475,
                139951793,
                0.4288890546751146,
                0.5780913011344704
            )
        );
    }

    #[test]
    fn a_seed_of_2_pow_32_is_two_words_with_a_zero_low_word() {
        assert_eq!(
            first_draws(Mt19937::python_seed(1 << 32)),
            (
                485306839,
                1508871100,
                0.41782886486292836,
                0.0166763664992291
            )
        );
        assert_eq!(
            first_draws(Mt19937::python_seed((1 << 40) + 5)),
            (
                2166296868,
                2220160828,
                0.2686044399723282,
                0.9257865475671585
            )
        );
    }

    #[test]
    fn a_seed_wider_than_64_bits_is_three_words() {
        // 12345678901234567890123 = 0x29d_42b64e76_714244cb
        let g = Mt19937::python_seed_words(&[0x7142_44cb, 0x42b6_4e76, 0x29d]);
        assert_eq!(
            first_draws(g),
            (
                678764485,
                4198308164,
                0.9863365111874665,
                0.13242015726274725
            )
        );
    }

    #[test]
    fn the_state_twists_again_after_624_words() {
        let mut g = Mt19937::python_seed(0);
        for _ in 0..1000 {
            g.next_u32();
        }
        assert_eq!(g.next_u32(), 126175447);
    }

    #[test]
    fn an_empty_key_is_the_seed_0() {
        assert_eq!(
            Mt19937::python_seed_words(&[]).random(),
            Mt19937::python_seed(0).random()
        );
    }
}
