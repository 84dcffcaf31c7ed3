//! The seeded, stratified hold-out: whole rows (all chunks of one row) go to one side, and each
//! value of the last score label keeps its share on both sides.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use std::collections::BTreeMap;

/// `(train, holdout)` example indices, each ascending. `groups[i]` is example `i`'s row and
/// `strata[i]` its class of the last label; a row's stratum is its first example's. Each stratum
/// sends `share` of its rows (rounded, at least one of a stratum with two or more) to the hold-out.
pub fn holdout<G: Ord + Copy>(
    groups: &[G],
    strata: &[u16],
    share: f64,
    seed: u64,
) -> (Vec<usize>, Vec<usize>) {
    let mut rows: BTreeMap<G, Vec<usize>> = BTreeMap::new();
    for (i, g) in groups.iter().enumerate() {
        rows.entry(*g).or_default().push(i);
    }
    let mut by_stratum: BTreeMap<u16, Vec<&Vec<usize>>> = BTreeMap::new();
    for examples in rows.values() {
        by_stratum
            .entry(strata[examples[0]])
            .or_default()
            .push(examples);
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for (_, mut members) in by_stratum {
        members.shuffle(&mut rng);
        let mut take = (members.len() as f64 * share).round() as usize;
        if take == 0 && members.len() >= 2 && share > 0.0 {
            take = 1;
        }
        for (i, examples) in members.into_iter().enumerate() {
            let side = if i < take { &mut test } else { &mut train };
            side.extend(examples.iter().copied());
        }
    }
    train.sort_unstable();
    test.sort_unstable();
    (train, test)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_stay_whole_and_strata_keep_their_share() {
        // 300 rows of two chunks; rows 0..200 are class 0, the rest class 1.
        let groups: Vec<u64> = (0..600).map(|i| i / 2).collect();
        let strata: Vec<u16> = groups.iter().map(|g| u16::from(*g >= 200)).collect();
        let (train, test) = holdout(&groups, &strata, 0.1, 7);
        assert_eq!(train.len() + test.len(), 600);
        assert_eq!(test.len(), 60);
        assert_eq!(test.iter().filter(|i| strata[**i] == 1).count(), 20);
        for pair in test.chunks(2) {
            assert_eq!(groups[pair[0]], groups[pair[1]], "a row was split");
        }
        // Seeded: the same seed, the same split; another seed, another.
        assert_eq!(holdout(&groups, &strata, 0.1, 7).1, test);
        assert_ne!(holdout(&groups, &strata, 0.1, 8).1, test);
    }

    #[test]
    fn a_small_stratum_still_lends_one_row() {
        let groups: Vec<u32> = (0..12).collect();
        let mut strata = vec![0u16; 12];
        strata[10] = 1;
        strata[11] = 1;
        let (_, test) = holdout(&groups, &strata, 0.1, 1);
        assert_eq!(test.iter().filter(|i| strata[**i] == 1).count(), 1);
    }
}
