//! A lens component built against a fake future `classified:lens@0.2.0` (wit/lens.wit here), so that
//! the host's version check can be tested. Written against raw wit-bindgen: the SDK targets 0.1.0.

wit_bindgen::generate!({ path: "wit", world: "lens" });

use exports::classified::lens::stages::{Error, Guest, Info, Prepared, Scored, Stage};

struct Future;

impl Guest for Future {
    fn describe() -> Info {
        Info { stages: vec![Stage::Score], bucket_names: vec![] }
    }
    fn preprocess(_: u64, _: String) -> Result<Prepared, Error> {
        Err(Error::Unsupported)
    }
    fn postprocess(_: u64, _: String) -> Result<Scored, Error> {
        Err(Error::Unsupported)
    }
    fn bucket(_: u64, _: Vec<(String, f64)>) -> Result<String, Error> {
        Err(Error::Unsupported)
    }
    fn score(_: u64, _: String) -> Result<Scored, Error> {
        Ok(Scored { scores: vec![("overall".into(), 3.0)], rationales: vec![] })
    }
}

export!(Future);
