//! Preprocess stage (native default): row fields → the inputs of each prompt.
//!
//! Pretrain lenses cut their one text field into token chunks (`chunk.rs`); instruct lenses send
//! every field in one prompt.

use super::{Inputs, Prepared, StageContext, chunk};
use crate::lens::LensKind;

/// Why a pretrain row with no chunk long enough to rate is skipped.
pub const TOO_SHORT: &str = "too short";

pub fn native(ctx: &StageContext, fields: &Inputs) -> Prepared {
    match ctx.lens.kind {
        LensKind::Instruct | LensKind::Local | LensKind::Model => {
            Prepared::Inputs(vec![fields.clone()])
        }
        LensKind::Pretrain => {
            let field = &ctx.lens.input_fields[0];
            let text = fields.get(field).map(String::as_str).unwrap_or("");
            let chunks = chunk::chunk(&ctx.bpe, text, &ctx.chunking);
            if chunks.is_empty() {
                return Prepared::Skip(TOO_SHORT.into());
            }
            Prepared::Inputs(
                chunks
                    .into_iter()
                    .map(|c| {
                        let mut inputs = fields.clone();
                        inputs.insert(field.clone(), c);
                        inputs
                    })
                    .collect(),
            )
        }
    }
}
