//! Adapter for components built against `classified:lens@0.1.0` (`wit/v0.1.0/`, frozen).
//! One file per WIT version: it generates that version's bindings and converts them to `guest.rs` types.

use super::guest::{Answer, Info, Prepared, Refusal, Scored};
use super::state::State;
use crate::pipeline::Stage;
use wasmtime::Store;
use wasmtime::component::{Component, HasSelf, Linker};

// The token functions may trap: they stop the call when its time budget is spent.
wasmtime::component::bindgen!({
    path: "../wit/v0.1.0",
    world: "lens",
    imports: {
        "classified:lens/host.count-tokens": trappable,
        "classified:lens/host.truncate-tokens": trappable,
    },
});

use self::classified::lens::host;
use exports::classified::lens::stages as wit;

/// The version as it appears in component export names.
pub const VERSION: &str = "0.1.0";

impl host::Host for State {
    fn log(&mut self, level: host::Level, message: String) {
        let level = match level {
            host::Level::Debug => "debug",
            host::Level::Info => "info",
            host::Level::Warn => "warn",
            host::Level::Error => "error",
        };
        self.log_line(level, &message)
    }

    fn count_tokens(&mut self, text: String) -> wasmtime::Result<u32> {
        self.tokens_in(&text)
    }

    fn truncate_tokens(&mut self, text: String, max: u32) -> wasmtime::Result<String> {
        self.truncate(&text, max)
    }

    fn lens_config(&mut self) -> String {
        self.config_json()
    }
}

/// A component linked and ready to instantiate.
pub struct Pre(LensPre<State>);

impl Pre {
    pub fn new(mut linker: Linker<State>, component: &Component) -> wasmtime::Result<Pre> {
        Lens::add_to_linker::<_, HasSelf<_>>(&mut linker, |state| state)?;
        Ok(Pre(LensPre::new(linker.instantiate_pre(component)?)?))
    }

    pub fn instantiate(&self, store: &mut Store<State>) -> wasmtime::Result<Instance> {
        Ok(Instance(self.0.instantiate(store)?))
    }
}

/// One instance of the component. The outer `wasmtime::Result` is a trap; the inner one the stage's answer.
pub struct Instance(Lens);

impl Instance {
    fn stages(&self) -> &wit::Guest {
        self.0.classified_lens_stages()
    }

    pub fn describe(&self, store: &mut Store<State>) -> wasmtime::Result<Info> {
        let info = self.stages().call_describe(store)?;
        let stages = info
            .stages
            .into_iter()
            .map(|s| match s {
                wit::Stage::Preprocess => Stage::Preprocess,
                wit::Stage::Postprocess => Stage::Postprocess,
                wit::Stage::Bucket => Stage::Bucket,
                wit::Stage::Score => Stage::Score,
            })
            .collect();
        Ok(Info {
            stages,
            bucket_names: info.bucket_names,
        })
    }

    pub fn preprocess(
        &self,
        store: &mut Store<State>,
        row: u64,
        fields: &str,
    ) -> wasmtime::Result<Answer<Prepared>> {
        let answer = self.stages().call_preprocess(store, row, fields)?;
        Ok(answer.map_err(refusal).map(|p| match p {
            wit::Prepared::Inputs(inputs) => Prepared::Inputs(inputs),
            wit::Prepared::Skip(reason) => Prepared::Skip(reason),
        }))
    }

    pub fn postprocess(
        &self,
        store: &mut Store<State>,
        row: u64,
        arguments: &str,
    ) -> wasmtime::Result<Answer<Scored>> {
        Ok(self
            .stages()
            .call_postprocess(store, row, arguments)?
            .map_err(refusal)
            .map(scored))
    }

    pub fn bucket(
        &self,
        store: &mut Store<State>,
        row: u64,
        scores: &[(String, f64)],
    ) -> wasmtime::Result<Answer<String>> {
        Ok(self
            .stages()
            .call_bucket(store, row, scores)?
            .map_err(refusal))
    }

    pub fn score(
        &self,
        store: &mut Store<State>,
        row: u64,
        fields: &str,
    ) -> wasmtime::Result<Answer<Scored>> {
        Ok(self
            .stages()
            .call_score(store, row, fields)?
            .map_err(refusal)
            .map(scored))
    }
}

fn scored(s: wit::Scored) -> Scored {
    Scored {
        scores: s.scores,
        rationales: s.rationales,
    }
}

fn refusal(e: wit::Error) -> Refusal {
    match e {
        wit::Error::Unsupported => Refusal::Unsupported,
        wit::Error::Failed(message) => Refusal::Failed(message),
    }
}
