//! `Lens::STAGES` cannot drift from the methods a lens overrides: `testing::assert_stages` (which
//! `export_lens!` runs in a lens crate's `cargo test`) names every mismatch and its fix.

use classified_lens::{Error, Fields, Lens, Prepared, Scored, Stage, testing};

fn message_of(f: impl FnOnce() + std::panic::UnwindSafe) -> Option<String> {
    std::panic::catch_unwind(f)
        .err()
        .map(|p| p.downcast_ref::<String>().cloned().unwrap_or_default())
}

#[derive(Default)]
struct Honest;

impl Lens for Honest {
    const STAGES: &'static [Stage] = &[Stage::Preprocess, Stage::Bucket];
    fn preprocess(&self, fields: Fields) -> Result<Prepared, Error> {
        Ok(Prepared::Inputs(vec![fields]))
    }
    fn bucket(&self, _: &[(String, f64)]) -> Result<String, Error> {
        // Panicking on the empty probe still counts as implemented.
        panic!("no scores")
    }
}

#[derive(Default)]
struct Unlisted;

impl Lens for Unlisted {
    const STAGES: &'static [Stage] = &[];
    fn score(&self, _: Fields) -> Result<Scored, Error> {
        Err(Error::failed("refuses every row"))
    }
}

#[derive(Default)]
struct Unimplemented;

impl Lens for Unimplemented {
    const STAGES: &'static [Stage] = &[Stage::Postprocess];
}

#[test]
fn an_honest_list_passes() {
    assert_eq!(message_of(testing::assert_stages::<Honest>), None);
}

#[test]
fn an_implemented_stage_left_out_of_stages_is_named() {
    let message = message_of(testing::assert_stages::<Unlisted>).unwrap();
    assert_eq!(
        message,
        "Lens::score is implemented but Lens::STAGES does not list it, so the host would never call it: add Stage::Score to STAGES"
    );
}

#[test]
fn a_listed_stage_without_its_method_is_named() {
    let message = message_of(testing::assert_stages::<Unimplemented>).unwrap();
    assert_eq!(
        message,
        "Lens::STAGES lists Stage::Postprocess but Lens::postprocess is not implemented: implement it or remove Stage::Postprocess from STAGES"
    );
}

#[test]
fn tests_can_set_the_row_index() {
    testing::set_row(7);
    assert_eq!(classified_lens::row(), 7);
}

// The test export_lens! adds (`classified_lens_stages_match_the_methods`) runs in this test crate too.
classified_lens::export_lens!(Honest);
