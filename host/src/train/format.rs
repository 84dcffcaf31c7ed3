//! The model file (`model.bin`): a versioned, checksummed, little-endian binary format.
//!
//! ```text
//! offset  size  field
//!      0     8  magic: 89 'C' 'L' 'S' 'M' 'D' 'L' 0A   (non-ASCII first byte, then a line feed:
//!                 a file mangled by a text-mode copy fails here)
//!      8     4  format version (u32): this writer 2, this reader 1 and 2
//!     12     8  body length in bytes (u64)
//!     20     …  body
//!    end     4  CRC-32 (IEEE) of every byte before it
//!
//! version 2 body: u8 kind, 3 × u8 0, then
//!   kind 0 (trained): the version 1 body, each head followed by u8 report (1: the value nearest
//!     the expected score, 0: the expected score)
//!   kind 1 (imported fastText): u32 input fields, u32 label length, label, u32 classes k,
//!     k × (u32 length, fastText label, f64 score value) in fastText's label order, then the
//!     fastText .bin/.ftz file's bytes to the end (read by `fasttext.rs`)
//!
//! version 1 body: u32 buckets, u8 word n-grams, u8 char n-gram min, u8 char n-gram max, u8 0,
//!       u32 input fields, u32 dim, u32 heads,
//!       per head: u32 label length, label (UTF-8), u32 classes k, k × f64 score values (ascending),
//!                 k × dim × f32 weights, k × f32 biases,
//!       buckets × dim × f16 embeddings (IEEE half precision: half the size, and the evaluation
//!       is run on the model as loaded from these bytes, so the metrics describe the file).
//! ```
//!
//! The reader checks the magic, the version, the length and the checksum before it reads a single
//! size from the body, then checks every size against its limit and against the bytes actually
//! left before allocating: a truncated, corrupted, foreign or future file is one sentence, never a
//! panic, and never an allocation larger than the file.

use super::features::{FeatureConfig, MAX_CHAR_NGRAM, MAX_WORD_NGRAMS};
use super::model::{Head, Model};
use half::f16;

pub const MAGIC: [u8; 8] = *b"\x89CLSMDL\n";
pub const VERSION: u32 = 2;
const HEADER: usize = 20;
const CHECKSUM: usize = 4;

/// The largest model file a lens may hold.
pub const MAX_FILE_BYTES: u64 = 512 << 20;
pub const MAX_BUCKETS: u32 = 1 << 24;
pub const MAX_DIM: u32 = 256;
const MAX_HEADS: u32 = 256;
const MAX_CLASSES: u32 = 1024;
const MAX_LABEL: u32 = 256;
const MAX_FIELDS: u32 = 256;

/// A trained model as the bytes of a file (an imported one is written by [`imported_bytes`]).
pub fn to_bytes(model: &Model) -> Vec<u8> {
    assert!(
        model.imported.is_none(),
        "imported models are written by imported_bytes"
    );
    let mut body = Vec::with_capacity(model.embeddings.len() * 2 + 1024);
    body.extend([0, 0, 0, 0]);
    let f = &model.features;
    body.extend(f.buckets.to_le_bytes());
    body.extend([f.word_ngrams, f.char_min, f.char_max, 0]);
    body.extend(model.fields.to_le_bytes());
    body.extend((model.dim as u32).to_le_bytes());
    body.extend((model.heads.len() as u32).to_le_bytes());
    for head in &model.heads {
        body.extend((head.label.len() as u32).to_le_bytes());
        body.extend(head.label.as_bytes());
        body.extend((head.values.len() as u32).to_le_bytes());
        head.values
            .iter()
            .for_each(|v| body.extend(v.to_le_bytes()));
        head.weights
            .iter()
            .for_each(|w| body.extend(w.to_le_bytes()));
        head.bias.iter().for_each(|b| body.extend(b.to_le_bytes()));
        body.push(u8::from(head.nearest));
    }
    for e in &model.embeddings {
        body.extend(f16::from_f32(*e).to_bits().to_le_bytes());
    }
    seal(body)
}

/// An imported fastText model as the bytes of a file: `fasttext` is the .bin/.ftz file, `labels`
/// its labels in its order with the score each stands for.
pub fn imported_bytes(
    fields: u32,
    label: &str,
    labels: &[(String, f64)],
    fasttext: &[u8],
) -> Vec<u8> {
    let mut body = Vec::with_capacity(fasttext.len() + 1024);
    body.extend([1, 0, 0, 0]);
    body.extend(fields.to_le_bytes());
    body.extend((label.len() as u32).to_le_bytes());
    body.extend(label.as_bytes());
    body.extend((labels.len() as u32).to_le_bytes());
    for (name, value) in labels {
        body.extend((name.len() as u32).to_le_bytes());
        body.extend(name.as_bytes());
        body.extend(value.to_le_bytes());
    }
    body.extend(fasttext);
    seal(body)
}

/// Header, body, checksum.
fn seal(body: Vec<u8>) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + body.len() + CHECKSUM);
    out.extend(MAGIC);
    out.extend(VERSION.to_le_bytes());
    out.extend((body.len() as u64).to_le_bytes());
    out.extend(body);
    let crc = crc32fast::hash(&out);
    out.extend(crc.to_le_bytes());
    out
}

/// The model in `bytes`, or the end of a sentence saying what is wrong with the file ("is
/// truncated: …"), to follow the file's name.
pub fn from_bytes(bytes: &[u8]) -> Result<Model, String> {
    let foreign = "is not a classified model file (it lacks the model file signature); \
                   make one with `classified train`";
    if bytes.len() < MAGIC.len() {
        return Err(if MAGIC.starts_with(bytes) && !bytes.is_empty() {
            format!(
                "is truncated: {} bytes, shorter than the header",
                bytes.len()
            )
        } else {
            foreign.into()
        });
    }
    if bytes[..MAGIC.len()] != MAGIC {
        return Err(foreign.into());
    }
    if bytes.len() < HEADER {
        return Err(format!(
            "is truncated: {} bytes, shorter than the header",
            bytes.len()
        ));
    }
    let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
    if version > VERSION {
        return Err(format!(
            "is model format version {version}, newer than this classified reads ({VERSION}); \
             upgrade classified or train the model again with this one"
        ));
    }
    if version == 0 {
        return Err(
            "has model format version 0, which no classified writes; the file is damaged".into(),
        );
    }
    let body_len = u64::from_le_bytes(bytes[12..20].try_into().expect("8 bytes"));
    let expected = (HEADER as u64)
        .checked_add(body_len)
        .and_then(|n| n.checked_add(CHECKSUM as u64));
    match expected {
        Some(n) if n == bytes.len() as u64 => {}
        Some(n) if n > bytes.len() as u64 => {
            return Err(format!(
                "is truncated: {} bytes where its header says {n}; copy the whole file again",
                bytes.len()
            ));
        }
        Some(n) => {
            return Err(format!(
                "has {} bytes after the end its header gives ({n} bytes); it is damaged",
                bytes.len() as u64 - n
            ));
        }
        None => return Err("has an impossible body length in its header; it is damaged".into()),
    }
    let (content, stored) = bytes.split_at(bytes.len() - CHECKSUM);
    let stored = u32::from_le_bytes(stored.try_into().expect("4 bytes"));
    if crc32fast::hash(content) != stored {
        return Err(
            "is corrupted (its checksum does not match its content); restore it or train the \
             model again"
                .into(),
        );
    }
    let body = &content[HEADER..];
    let parsed = match (version, body.first()) {
        (1, _) => parse_body(body, false),
        (_, Some(0)) if body.len() >= 4 => parse_body(&body[4..], true),
        (_, Some(1)) if body.len() >= 4 => return parse_imported(&body[4..]),
        _ => Err("its kind is unknown".into()),
    };
    parsed.map_err(|detail| format!("is malformed: {detail}"))
}

/// An imported fastText model's body (after the kind); the end of a sentence when it is bad.
fn parse_imported(body: &[u8]) -> Result<Model, String> {
    let mut c = Cursor { bytes: body };
    let malformed = |e: String| format!("is malformed: {e}");
    let fields = c
        .count("the input field count", 1, MAX_FIELDS)
        .map_err(malformed)? as u32;
    let len = c
        .count("the label's length", 1, MAX_LABEL)
        .map_err(malformed)?;
    let label = std::str::from_utf8(c.take(len, "the label").map_err(malformed)?)
        .map_err(|_| "is malformed: its label is not UTF-8".to_string())?
        .to_string();
    let k = c
        .count("the fastText label count", 1, MAX_CLASSES)
        .map_err(malformed)?;
    let mut labels = Vec::with_capacity(k);
    for _ in 0..k {
        let len = c
            .count("a fastText label's length", 1, MAX_LABEL * 4)
            .map_err(malformed)?;
        let name = String::from_utf8_lossy(c.take(len, "a fastText label").map_err(malformed)?)
            .into_owned();
        let value = f64::from_le_bytes(
            c.take(8, "a score value")
                .map_err(malformed)?
                .try_into()
                .expect("8 bytes"),
        );
        if !value.is_finite() {
            return Err(format!(
                "is malformed: the score of {name} is not a finite number"
            ));
        }
        labels.push((name, value));
    }
    let ft = super::fasttext::FastText::parse(c.bytes)
        .map_err(|e| format!("holds a fastText model that {e}"))?;
    let names: Vec<&str> = labels.iter().map(|(n, _)| n.as_str()).collect();
    if names != ft.labels {
        return Err(format!(
            "is malformed: its label scores name {names:?} but its fastText model has {:?}",
            ft.labels
        ));
    }
    let values = labels.into_iter().map(|(_, v)| v).collect();
    Ok(super::fasttext::into_model(ft, fields, &label, values))
}

/// A reader over the body that never reads past its end.
struct Cursor<'a> {
    bytes: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], String> {
        if n > self.bytes.len() {
            return Err(format!(
                "{what} needs {n} bytes but {} are left",
                self.bytes.len()
            ));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    fn u32(&mut self, what: &str) -> Result<u32, String> {
        Ok(u32::from_le_bytes(
            self.take(4, what)?.try_into().expect("4 bytes"),
        ))
    }

    /// A count, checked against its limit.
    fn count(&mut self, what: &str, min: u32, max: u32) -> Result<usize, String> {
        let n = self.u32(what)?;
        if !(min..=max).contains(&n) {
            return Err(format!("{what} is {n}, outside {min}..={max}"));
        }
        Ok(n as usize)
    }

    /// `n` values of `size` bytes each, after checking they are all there (so the allocation is
    /// never larger than the file).
    fn values<T>(
        &mut self,
        n: usize,
        size: usize,
        what: &str,
        read: impl Fn(&[u8]) -> T,
    ) -> Result<Vec<T>, String> {
        let total = n
            .checked_mul(size)
            .ok_or_else(|| format!("{what} is impossibly large"))?;
        let bytes = self.take(total, what)?;
        Ok(bytes.chunks_exact(size).map(read).collect())
    }
}

fn finite_f32(values: &[f32], what: &str) -> Result<(), String> {
    match values.iter().position(|v| !v.is_finite()) {
        Some(i) => Err(format!("{what} value {i} is not a finite number")),
        None => Ok(()),
    }
}

/// A trained model's body; `reports` when each head ends with its report byte (version 2).
fn parse_body(body: &[u8], reports: bool) -> Result<Model, String> {
    let mut c = Cursor { bytes: body };
    let buckets = c.count("the bucket count", 1, MAX_BUCKETS)? as u32;
    let flags = c.take(4, "the feature settings")?;
    let features = FeatureConfig {
        buckets,
        word_ngrams: flags[0],
        char_min: flags[1],
        char_max: flags[2],
    };
    if flags[0] > MAX_WORD_NGRAMS || flags[2] > MAX_CHAR_NGRAM {
        return Err(format!(
            "feature settings {flags:?} are beyond what this classified supports"
        ));
    }
    features.check()?;
    let fields = c.count("the input field count", 1, MAX_FIELDS)? as u32;
    let dim = c.count("the vector size", 1, MAX_DIM)?;
    let heads_n = c.count("the label count", 1, MAX_HEADS)?;
    let mut heads = Vec::with_capacity(heads_n);
    for h in 0..heads_n {
        let len = c.count("a label's length", 1, MAX_LABEL)?;
        let label = std::str::from_utf8(c.take(len, "a label")?)
            .map_err(|_| format!("label {h} is not UTF-8"))?
            .to_string();
        let k = c.count("a label's class count", 1, MAX_CLASSES)?;
        let values = c.values(k, 8, "score values", |b| {
            f64::from_le_bytes(b.try_into().expect("8 bytes"))
        })?;
        if values.iter().any(|v| !v.is_finite()) || values.windows(2).any(|w| w[0] >= w[1]) {
            return Err(format!(
                "the score values of `{label}` are not finite and ascending"
            ));
        }
        let weights = c.values(k * dim, 4, "head weights", |b| {
            f32::from_le_bytes(b.try_into().expect("4 bytes"))
        })?;
        let bias = c.values(k, 4, "head biases", |b| {
            f32::from_le_bytes(b.try_into().expect("4 bytes"))
        })?;
        finite_f32(&weights, "a head weight")?;
        finite_f32(&bias, "a head bias")?;
        let nearest = reports && c.take(1, "a head's report")?[0] == 1;
        heads.push(Head {
            label,
            values,
            weights,
            bias,
            nearest,
        });
    }
    let cells = (buckets as usize)
        .checked_mul(dim)
        .ok_or("the embedding table is impossibly large")?;
    let embeddings = c.values(cells, 2, "the embedding table", |b| {
        f16::from_bits(u16::from_le_bytes([b[0], b[1]])).to_f32()
    })?;
    finite_f32(&embeddings, "an embedding")?;
    if !c.bytes.is_empty() {
        return Err(format!(
            "{} bytes are left over after the embedding table",
            c.bytes.len()
        ));
    }
    Ok(Model {
        features,
        fields,
        dim,
        embeddings,
        heads,
        imported: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::model::tests::tiny;
    use rand::{Rng, SeedableRng};

    /// `tiny()` with its embeddings rounded to f16, as a saved model holds them.
    fn saved() -> Model {
        from_bytes(&to_bytes(&tiny())).unwrap()
    }

    #[test]
    fn round_trip_keeps_everything_but_embedding_precision() {
        let model = tiny();
        let back = saved();
        assert_eq!(back.heads, model.heads);
        assert_eq!(back.features, model.features);
        assert_eq!((back.dim, back.fields), (model.dim, model.fields));
        for (a, b) in back.embeddings.iter().zip(&model.embeddings) {
            assert!((a - b).abs() <= 1e-3 * b.abs().max(1e-3), "{a} vs {b}");
        }
        // Writing the loaded model again gives the same bytes: f16 values round-trip exactly.
        assert_eq!(to_bytes(&back), to_bytes(&model));
    }

    #[test]
    fn the_report_flag_round_trips_and_version_1_files_still_load() {
        let mut model = tiny();
        model.heads[0].nearest = true;
        assert!(from_bytes(&to_bytes(&model)).unwrap().heads[0].nearest);
        // A version 1 file: no kind bytes, no report byte; its heads report the expected score.
        model.heads[0].nearest = false;
        let v2 = to_bytes(&model);
        let body = &v2[HEADER + 4..v2.len() - CHECKSUM];
        let report_at = body.len() - model.embeddings.len() * 2 - 1;
        let mut v1_body = body[..report_at].to_vec();
        v1_body.extend(&body[report_at + 1..]);
        let mut v1 = MAGIC.to_vec();
        v1.extend(1u32.to_le_bytes());
        v1.extend((v1_body.len() as u64).to_le_bytes());
        v1.extend(v1_body);
        v1.extend([0; 4]);
        reseal(&mut v1);
        let back = from_bytes(&v1).unwrap();
        assert_eq!(back.heads, model.heads);
        assert_eq!(to_bytes(&back), v2);
    }

    #[test]
    fn an_imported_model_round_trips_and_its_labels_must_match() {
        let ft = crate::train::fasttext::tests::tiny_file(true);
        let labels = [
            ("__label__a".to_string(), 0.0),
            ("__label__b".to_string(), 3.0),
        ];
        let model = from_bytes(&imported_bytes(1, "score", &labels, &ft)).unwrap();
        assert_eq!(model.labels(), ["score"]);
        assert_eq!(model.heads[0].values, [0.0, 3.0]);
        let p = &model.predict(&["good bad"])[0];
        assert!((p.expected - 3.0 * p.probabilities[1]).abs() < 1e-12 && !model.heads[0].nearest);
        let wrong = [
            ("__label__b".to_string(), 0.0),
            ("__label__a".to_string(), 3.0),
        ];
        let e = from_bytes(&imported_bytes(1, "score", &wrong, &ft)).unwrap_err();
        assert!(e.contains("malformed") && e.contains("__label__a"), "{e}");
        let e = from_bytes(&imported_bytes(1, "score", &labels, &ft[..ft.len() - 9])).unwrap_err();
        assert!(
            e.contains("holds a fastText model that is truncated"),
            "{e}"
        );
    }

    #[test]
    fn every_kind_of_bad_file_is_one_sentence() {
        let good = to_bytes(&tiny());
        let err = |b: &[u8]| from_bytes(b).unwrap_err();
        assert!(err(b"").contains("not a classified model file"));
        assert!(err(b"PK\x03\x04 a zip file, not a model").contains("not a classified model file"));
        assert!(err(b"__label__good 1.0\n").contains("not a classified model file"));
        assert!(err(&good[..5]).contains("truncated"));
        assert!(err(&good[..15]).contains("truncated"));
        assert!(err(&good[..good.len() - 1]).contains("truncated"));
        let mut longer = good.clone();
        longer.push(0);
        assert!(err(&longer).contains("after the end"));
        let mut future = good.clone();
        future[8] = 3;
        assert!(err(&future).contains("version 3, newer"));
        let mut flipped = good.clone();
        let last = flipped.len() - 10;
        flipped[last] ^= 0x40;
        assert!(err(&flipped).contains("corrupted"));
    }

    /// Recompute the checksum, so a mutation reaches the body parser.
    fn reseal(bytes: &mut [u8]) {
        let n = bytes.len() - CHECKSUM;
        let crc = crc32fast::hash(&bytes[..n]);
        bytes[n..].copy_from_slice(&crc.to_le_bytes());
    }

    #[test]
    fn sizes_beyond_the_file_are_refused_before_allocating() {
        // A valid checksum over a body claiming 2^24 buckets of 256 values (8 GB of f16).
        let mut bytes = to_bytes(&tiny());
        bytes[HEADER + 4..HEADER + 8].copy_from_slice(&MAX_BUCKETS.to_le_bytes());
        let dim_at = HEADER + 16;
        bytes[dim_at..dim_at + 4].copy_from_slice(&MAX_DIM.to_le_bytes());
        reseal(&mut bytes);
        let e = from_bytes(&bytes).unwrap_err();
        assert!(e.contains("malformed") && e.contains("left"), "{e}");
    }

    #[test]
    fn fuzzed_files_never_panic() {
        let good = to_bytes(&tiny());
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(12);
        let (mut ok, mut refused) = (0, 0);
        for round in 0..20_000 {
            let mut bytes = good.clone();
            match round % 4 {
                // Truncated anywhere.
                0 => bytes.truncate(rng.random_range(0..bytes.len())),
                // A few random bytes changed, checksum left alone.
                1 => {
                    for _ in 0..rng.random_range(1..4) {
                        let at = rng.random_range(0..bytes.len());
                        bytes[at] = rng.random();
                    }
                }
                // Changed and resealed: the body parser meets garbage sizes and values.
                2 => {
                    for _ in 0..rng.random_range(1..4) {
                        let at = rng.random_range(HEADER..bytes.len() - CHECKSUM);
                        bytes[at] = rng.random();
                    }
                    reseal(&mut bytes);
                }
                // Random bytes of a random length behind a valid header and checksum.
                _ => {
                    let len = rng.random_range(0..200);
                    bytes.truncate(HEADER);
                    bytes.extend((0..len).map(|_| rng.random::<u8>()));
                    bytes[12..20].copy_from_slice(&(len as u64).to_le_bytes());
                    bytes.extend([0; 4]);
                    reseal(&mut bytes);
                }
            }
            match from_bytes(&bytes) {
                Ok(model) => {
                    ok += 1;
                    // Whatever loaded predicts finite scores.
                    assert!(model.scores(&["a few words"]).iter().all(|s| s.is_finite()));
                }
                Err(e) => {
                    refused += 1;
                    assert!(e.len() < 300 && !e.contains('\n'), "{e}");
                }
            }
        }
        assert!(refused > 15_000 && ok > 0, "ok {ok}, refused {refused}");
    }
}
