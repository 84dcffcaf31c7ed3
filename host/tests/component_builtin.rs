//! The built-in lenses that ship components, loaded the way a run loads them: from the binary.

mod component_support;

use classified::component::stages_for;
use classified::lens::Catalog;
use classified::pipeline::{Prepared, RowScores, StageContext, Stages};
use component_support::{init, text};
use std::sync::Arc;

fn builtin(name: &str) -> Arc<dyn Stages> {
    init();
    let lens = Catalog::default().get(name).unwrap();
    assert!(
        lens.component.is_some(),
        "built-in `{name}` must ship its component"
    );
    stages_for(StageContext {
        lens: Arc::new(lens),
        chunking: Default::default(),
        bpe: classified::pipeline::chunk::Tokenizer::lazy(tiktoken_rs::o200k_base_singleton),
    })
    .unwrap()
}

const PROSE: &str = "The history of the printing press is a story of ideas moving faster than ever before. \
    Before Gutenberg, books were copied by hand, which made them rare and expensive. With movable type, \
    a workshop could produce hundreds of copies of the same text, and scholars across Europe began to \
    share and argue with the same editions. That change helped the spread of literacy and of new \
    scientific methods, and it changed how people thought about authority and evidence.";

#[test]
fn heuristic_quality_scores_locally_and_buckets() {
    let stages = builtin("heuristic_quality");
    let lens = &stages.context().lens;
    assert_eq!(lens.last_label(), "overall");
    let good = stages.score(0, &text(PROSE)).unwrap();
    assert_eq!(good.scores.len(), lens.score_labels.len());
    assert!(
        good.scores.iter().all(|s| (1.0..=3.0).contains(s)),
        "{good:?}"
    );
    assert_eq!(good.scores.last(), Some(&3.0), "{good:?}");
    assert!(good.rationales[0].contains("words="), "{good:?}");
    let bucket = stages
        .bucket(
            0,
            &RowScores {
                scores: good.scores.clone(),
            },
        )
        .unwrap();
    assert_eq!(bucket, "Good");

    let spam = stages
        .score(1, &text(&"BUY NOW #deal #cheap\n".repeat(40)))
        .unwrap();
    assert_eq!(spam.scores.last(), Some(&1.0), "{spam:?}");
    assert_eq!(
        stages
            .bucket(
                1,
                &RowScores {
                    scores: spam.scores
                }
            )
            .unwrap(),
        "Poor"
    );
}

#[test]
fn edu_value_validates_clamps_and_buckets_its_answers() {
    let stages = builtin("edu_value");
    let scored = stages
        .postprocess(0, r#"{"justification": "clear", "educational_value": 7}"#)
        .unwrap();
    assert_eq!(
        (scored.scores.clone(), scored.rationales.clone()),
        (vec![5.0], vec!["clear".to_string()])
    );
    let scored = stages
        .postprocess(1, r#"{"justification": "", "educational_value": "3/5"}"#)
        .unwrap();
    assert_eq!(scored.scores, vec![3.0]);

    let e = stages
        .postprocess(2, r#"{"justification": "no score"}"#)
        .unwrap_err();
    assert_eq!(e.kind.name(), "plugin-error", "{e}");
    assert!(e.message.contains("educational_value"), "{}", e.message);

    let bucket = |v: f64| stages.bucket(0, &RowScores { scores: vec![v] }).unwrap();
    assert_eq!(
        [0.0, 1.0, 2.0, 3.0, 4.0, 5.0].map(bucket),
        ["Poor", "Poor", "Low", "Medium", "Good", "Good"]
    );

    // Preprocess is not in the component: the native default runs.
    assert!(matches!(
        stages.preprocess(0, &text(PROSE)).unwrap(),
        Prepared::Inputs(_) | Prepared::Skip(_)
    ));
}
