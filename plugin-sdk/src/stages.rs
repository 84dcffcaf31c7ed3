//! Which stages a lens really implements, and the row a stage call handles.
//!
//! The [`Lens`](crate::Lens) trait's default methods record that they ran (they are the "not
//! implemented" answer), so the SDK can tell a stage the lens overrides from one it only lists in
//! `STAGES`: [`call`] turns a listed-but-default stage into a row error that says how to fix it, and
//! [`implemented`] finds the overridden methods for [`crate::testing::assert_stages`].

use crate::{Error, Lens, Stage};
use std::cell::Cell;

thread_local! {
    static ROW: Cell<u64> = const { Cell::new(0) };
    static DEFAULT_RAN: Cell<bool> = const { Cell::new(false) };
}

/// The 0-based index of the row the current stage call handles (0 outside a call), for log messages.
pub fn row() -> u64 {
    ROW.with(Cell::get)
}

#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn set_row(row: u64) {
    ROW.with(|r| r.set(row));
}

/// The answer of a stage method the lens does not override.
pub(crate) fn not_implemented(_stage: Stage) -> Error {
    DEFAULT_RAN.with(|d| d.set(true));
    Error::Unsupported
}

pub(crate) fn method(stage: Stage) -> &'static str {
    match stage {
        Stage::Preprocess => "preprocess",
        Stage::Postprocess => "postprocess",
        Stage::Bucket => "bucket",
        Stage::Score => "score",
    }
}

/// Run one stage method of `L` for row `row`. A stage that `L::STAGES` lists but whose method is
/// the trait's default fails the row with the fix, so the drift shows in `classified lenses check`
/// instead of quietly running the host's default.
pub(crate) fn call<L: Lens, T>(
    stage: Stage,
    row: u64,
    f: impl FnOnce() -> Result<T, Error>,
) -> Result<T, Error> {
    ROW.with(|r| r.set(row));
    DEFAULT_RAN.with(|d| d.set(false));
    let result = f();
    if result.is_err() && DEFAULT_RAN.with(Cell::get) && L::STAGES.contains(&stage) {
        let name = method(stage);
        return Err(Error::Failed(format!(
            "the lens lists Stage::{stage:?} in Lens::STAGES but does not implement Lens::{name}; implement {name} or remove Stage::{stage:?} from STAGES"
        )));
    }
    result
}

/// The stages whose methods `lens` overrides: each method is called once with empty input and
/// counts as implemented unless the trait's default answered. Panics count as implemented.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn implemented<L: Lens>(lens: &L) -> Vec<Stage> {
    use std::panic::{AssertUnwindSafe, catch_unwind};
    let probes: [(Stage, &dyn Fn()); 4] = [
        (Stage::Preprocess, &|| {
            drop(lens.preprocess(Default::default()))
        }),
        (Stage::Postprocess, &|| drop(lens.postprocess("{}"))),
        (Stage::Bucket, &|| drop(lens.bucket(&[]))),
        (Stage::Score, &|| drop(lens.score(Default::default()))),
    ];
    probes
        .into_iter()
        .filter(|(_, probe)| {
            DEFAULT_RAN.with(|d| d.set(false));
            let _ = catch_unwind(AssertUnwindSafe(probe));
            !DEFAULT_RAN.with(Cell::get)
        })
        .map(|(stage, _)| stage)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Fields, Scored};

    /// Lists score and bucket, implements score only.
    #[derive(Default)]
    struct ListsTooMuch;

    impl Lens for ListsTooMuch {
        const STAGES: &'static [Stage] = &[Stage::Score, Stage::Bucket];
        fn score(&self, _: Fields) -> Result<Scored, Error> {
            Ok(Scored::new().score("overall", row() as f64))
        }
    }

    #[test]
    fn a_listed_stage_left_at_its_default_fails_the_call_with_the_fix() {
        let e = call::<ListsTooMuch, _>(Stage::Bucket, 3, || ListsTooMuch.bucket(&[])).unwrap_err();
        assert_eq!(
            e,
            Error::Failed("the lens lists Stage::Bucket in Lens::STAGES but does not implement Lens::bucket; implement bucket or remove Stage::Bucket from STAGES".into())
        );
        // An unlisted default stays `unsupported` (the host's native stage).
        let e = call::<ListsTooMuch, _>(Stage::Preprocess, 3, || {
            ListsTooMuch.preprocess(Fields::new())
        })
        .unwrap_err();
        assert_eq!(e, Error::Unsupported);
    }

    #[test]
    fn a_call_makes_its_row_index_visible() {
        let scored =
            call::<ListsTooMuch, _>(Stage::Score, 41, || ListsTooMuch.score(Fields::new()))
                .unwrap();
        assert_eq!(scored.get("overall"), Some(41.0));
        assert_eq!(row(), 41);
    }

    #[test]
    fn implemented_finds_the_overridden_methods() {
        assert_eq!(implemented(&ListsTooMuch), vec![Stage::Score]);
    }
}
