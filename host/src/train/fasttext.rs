//! A reader of fastText's binary model files (`.bin`, and `.ftz` with product-quantized matrices)
//! and fastText's text vector, so an imported supervised model scores as `fasttext.predict` does.
//!
//! Our own reader rather than a crate's: the pure-Rust `fasttext` crate on crates.io is a binding
//! to the C++ library (it needs a C++ toolchain, and its loader trusts the file's sizes), and the
//! format is small. The layout (fastText 0.9, file version 11 or 12, little-endian):
//!
//! ```text
//! i32 magic 793712314, i32 version
//! args: i32 dim, ws, epoch, minCount, neg, wordNgrams, loss, model, bucket, minn, maxn,
//!       lrUpdateRate, f64 t
//! dictionary: i32 size, i32 nwords, i32 nlabels, i64 ntokens, i64 pruneidx_size,
//!             size × (NUL-terminated word, i64 count, i8 type), pruneidx_size × (i32, i32)
//! u8 quantized input; input matrix: dense (i64 rows, i64 cols, rows × cols f32) or quantized
//!   (u8 qnorm, i64 rows, i64 cols, i32 codesize, codes, product quantizer, [norm codes, norm PQ])
//! u8 quantized output; output matrix, dense or quantized as above
//! product quantizer: i32 dim, i32 nsubq, i32 dsub, i32 lastdsub, dim × 256 f32 centroids
//! ```
//!
//! Every size is checked against the bytes left before anything is allocated: a lying header is
//! one sentence, never a huge allocation.
//!
//! The text vector follows fastText's `Dictionary::getLine`: tokens split on ASCII whitespace
//! (here a line break separates like a space: fastText reads one line per prediction, and callers
//! such as DCLM replace line breaks by spaces first), then the end-of-line token `</s>`; a known
//! word adds its own row and, with subwords (minn..maxn), the rows of its character n-grams; an
//! unknown word adds its character n-grams only; word n-grams (wordNgrams > 1) hash the 32-bit
//! token hashes into the buckets. The vector is the mean of those rows.

// FxHash: the dictionary is looked up once per token, and SipHash cost a third of prediction.
use rustc_hash::FxHashMap as HashMap;

pub const MAGIC: i32 = 793_712_314;
const EOS: &[u8] = b"</s>";
const LABEL_PREFIX: &[u8] = b"__label__";
const KSUB: usize = 256;
/// The largest vector fastText models use is a few hundred; this bounds a lying `dim`.
const MAX_DIM: i64 = 4096;
/// The largest weight (in absolute value) a sane model holds.
const MAX_WEIGHT: f32 = 1e15;

/// An input matrix: plain rows, or product-quantized codes.
#[derive(Clone, PartialEq)]
enum Input {
    Dense(Vec<f32>),
    Quantized(Quantized),
}

#[derive(Clone, PartialEq)]
struct Pq {
    nsubq: usize,
    dsub: usize,
    lastdsub: usize,
    centroids: Vec<f32>,
}

impl Pq {
    /// Centroid `i` of sub-quantizer `m` (fastText's `get_centroids`).
    fn centroid(&self, m: usize, i: u8) -> &[f32] {
        let i = usize::from(i);
        if m == self.nsubq - 1 {
            let at = m * KSUB * self.dsub + i * self.lastdsub;
            &self.centroids[at..at + self.lastdsub]
        } else {
            let at = (m * KSUB + i) * self.dsub;
            &self.centroids[at..at + self.dsub]
        }
    }
}

#[derive(Clone, PartialEq)]
struct Quantized {
    pq: Pq,
    codes: Vec<u8>,
    /// Per row, the code of its norm and the norms' quantizer (`qnorm`).
    norms: Option<(Vec<u8>, Pq)>,
}

impl Quantized {
    fn norm(&self, row: usize) -> f32 {
        match &self.norms {
            Some((codes, pq)) => pq.centroid(0, codes[row])[0],
            None => 1.0,
        }
    }

    /// `x += alpha · row` (fastText's `addcode`).
    fn add_row(&self, x: &mut [f32], row: usize, alpha: f32) {
        let pq = &self.pq;
        let code = &self.codes[row * pq.nsubq..(row + 1) * pq.nsubq];
        for (m, c) in code.iter().enumerate() {
            let centroid = pq.centroid(m, *c);
            let at = m * pq.dsub;
            for (xi, ci) in x[at..at + centroid.len()].iter_mut().zip(centroid) {
                *xi += alpha * ci;
            }
        }
    }
}

/// A supervised fastText model's input side: its dictionary and input matrix.
#[derive(Clone, PartialEq)]
pub struct FastText {
    pub dim: usize,
    pub word_ngrams: u32,
    pub bucket: u32,
    pub minn: u32,
    pub maxn: u32,
    nwords: u32,
    words: HashMap<Vec<u8>, u32>,
    /// The labels, in the output matrix's row order.
    pub labels: Vec<String>,
    /// Pruned n-gram ids (`.ftz` with `cutoff`): hashed id → row after the words; `None` unpruned.
    prune: Option<HashMap<i32, i32>>,
    rows: usize,
    input: Input,
    /// The output matrix, `labels.len()` rows of `dim` (decoded when quantized).
    pub output: Vec<f32>,
}

impl std::fmt::Debug for FastText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "FastText {{ dim: {}, words: {}, labels: {:?}, rows: {} }}",
            self.dim, self.nwords, self.labels, self.rows
        )
    }
}

/// A reader that never reads past the end.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], String> {
        if n > self.bytes.len() {
            return Err(format!(
                "is truncated: {what} needs {n} bytes but {} are left",
                self.bytes.len()
            ));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }
    fn i32(&mut self, what: &str) -> Result<i32, String> {
        Ok(i32::from_le_bytes(
            self.take(4, what)?.try_into().expect("4 bytes"),
        ))
    }
    fn i64(&mut self, what: &str) -> Result<i64, String> {
        Ok(i64::from_le_bytes(
            self.take(8, what)?.try_into().expect("8 bytes"),
        ))
    }
    fn u8(&mut self, what: &str) -> Result<u8, String> {
        Ok(self.take(1, what)?[0])
    }
    /// `n` f32 values, after checking they are all there.
    fn f32s(&mut self, n: usize, what: &str) -> Result<Vec<f32>, String> {
        let total = n
            .checked_mul(4)
            .ok_or_else(|| format!("has an impossibly large {what}"))?;
        let values: Vec<f32> = self
            .take(total, what)?
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes")))
            .collect();
        // Real weights are small; a bound keeps sums of a long text's rows (and a quantized
        // row's norm times its centroid) finite.
        if values.iter().any(|v| v.is_nan() || v.abs() > MAX_WEIGHT) {
            return Err(format!(
                "is damaged: its {what} holds a value that is not a plausible weight"
            ));
        }
        Ok(values)
    }
    /// A count in `0..=max`.
    fn count(&mut self, value: i64, what: &str, max: i64) -> Result<usize, String> {
        if !(0..=max).contains(&value) {
            return Err(format!("is damaged: its {what} is {value}"));
        }
        Ok(value as usize)
    }
}

/// fastText's 32-bit FNV-1a over the bytes, each sign-extended as C++'s `int8_t` is.
pub fn hash(bytes: &[u8]) -> u32 {
    let mut h: u32 = 2_166_136_261;
    for b in bytes {
        h ^= *b as i8 as i32 as u32;
        h = h.wrapping_mul(16_777_619);
    }
    h
}

fn read_pq(r: &mut Reader, what: &str) -> Result<Pq, String> {
    let dim = r.i32(what)?;
    let nsubq = r.i32(what)?;
    let dsub = r.i32(what)?;
    let lastdsub = r.i32(what)?;
    let dim = r.count(i64::from(dim), &format!("{what} size"), MAX_DIM)?;
    let (nsubq, dsub, lastdsub) = (nsubq as i64, dsub as i64, lastdsub as i64);
    let ok = nsubq >= 1
        && dsub >= 1
        && lastdsub >= 1
        && lastdsub <= dim as i64
        && dsub * (nsubq - 1) + lastdsub == dim as i64;
    if !ok {
        return Err(format!(
            "is damaged: its {what} has inconsistent sub-quantizer sizes"
        ));
    }
    let centroids = r.f32s(dim * KSUB, &format!("{what} centroids"))?;
    Ok(Pq {
        nsubq: nsubq as usize,
        dsub: dsub as usize,
        lastdsub: lastdsub as usize,
        centroids,
    })
}

/// A matrix of `rows × dim` (rows from the file, checked against `expect_rows` when given).
fn read_matrix(
    r: &mut Reader,
    quantized: bool,
    dim: usize,
    what: &str,
) -> Result<(usize, Input), String> {
    if !quantized {
        let rows = r.i64(what)?;
        let cols = r.i64(what)?;
        let rows = r.count(rows, &format!("{what} row count"), i64::MAX)?;
        if cols != dim as i64 {
            return Err(format!(
                "is damaged: its {what} has {cols} columns, not {dim}"
            ));
        }
        let cells = rows
            .checked_mul(dim)
            .ok_or_else(|| format!("has an impossibly large {what}"))?;
        return Ok((rows, Input::Dense(r.f32s(cells, what)?)));
    }
    let qnorm = r.u8(what)? != 0;
    let rows = r.i64(what)?;
    let cols = r.i64(what)?;
    let rows = r.count(rows, &format!("{what} row count"), i64::MAX)?;
    if cols != dim as i64 {
        return Err(format!(
            "is damaged: its {what} has {cols} columns, not {dim}"
        ));
    }
    let codesize = r.i32(what)?;
    let codesize = r.count(i64::from(codesize), &format!("{what} code size"), i64::MAX)?;
    let codes = r.take(codesize, &format!("{what} codes"))?.to_vec();
    let pq = read_pq(r, &format!("{what} quantizer"))?;
    if pq.centroids.len() != dim * KSUB || rows.checked_mul(pq.nsubq) != Some(codesize) {
        return Err(format!(
            "is damaged: its {what} codes do not fit its quantizer"
        ));
    }
    let norms = if qnorm {
        let codes = r.take(rows, &format!("{what} norm codes"))?.to_vec();
        let npq = read_pq(r, &format!("{what} norm quantizer"))?;
        if npq.centroids.len() != KSUB || npq.nsubq != 1 {
            return Err(format!(
                "is damaged: its {what} norm quantizer is not one-dimensional"
            ));
        }
        Some((codes, npq))
    } else {
        None
    };
    Ok((rows, Input::Quantized(Quantized { pq, codes, norms })))
}

impl FastText {
    /// The model in `bytes`, or the end of a sentence saying what is wrong with the file, to follow
    /// its name ("is truncated: …").
    pub fn parse(bytes: &[u8]) -> Result<FastText, String> {
        let mut r = Reader { bytes };
        let foreign = "is not a fastText model file (it lacks fastText's signature); give the .bin or .ftz that fastText's save_model wrote";
        if bytes.len() < 8 {
            return Err(foreign.into());
        }
        if r.i32("the signature")? != MAGIC {
            return Err(foreign.into());
        }
        let version = r.i32("the version")?;
        if !(11..=12).contains(&version) {
            return Err(format!(
                "is fastText file version {version}; classified reads versions 11 and 12 (fastText 0.9)"
            ));
        }
        let mut args = [0i32; 12];
        for a in args.iter_mut() {
            *a = r.i32("the settings")?;
        }
        r.take(8, "the settings")?;
        let [
            dim,
            _ws,
            _epoch,
            _min_count,
            _neg,
            word_ngrams,
            loss,
            model,
            bucket,
            minn,
            mut maxn,
            _lr_update,
        ] = args;
        if model != 3 {
            return Err("is not a supervised fastText model (it holds word vectors); import a model trained with `fasttext supervised` / train_supervised".into());
        }
        if loss != 3 {
            let name = match loss {
                1 => "hierarchical softmax (hs)",
                2 => "negative sampling (ns)",
                4 => "one-vs-all (ova)",
                _ => "an unknown loss",
            };
            return Err(format!(
                "was trained with {name}; classified imports softmax models only, so train it again with loss='softmax'"
            ));
        }
        if version == 11 {
            // fastText itself ignores subwords of supervised version-11 files.
            maxn = 0;
        }
        let dim = r.count(i64::from(dim), "vector size", MAX_DIM)?;
        if dim == 0 {
            return Err("is damaged: its vector size is 0".into());
        }
        let word_ngrams = r.count(i64::from(word_ngrams), "word n-gram length", 64)? as u32;
        let bucket = r.count(i64::from(bucket), "bucket count", i64::from(i32::MAX))? as u32;
        let (minn, maxn) = (
            r.count(i64::from(minn.max(0)), "minimum character n-gram", 64)? as u32,
            r.count(i64::from(maxn.max(0)), "maximum character n-gram", 64)? as u32,
        );
        if bucket == 0 && (word_ngrams > 1 || maxn > 0) {
            return Err("is damaged: it uses n-grams but has no buckets".into());
        }

        let size = r.i32("the dictionary")?;
        let nwords = r.i32("the dictionary")?;
        let nlabels = r.i32("the dictionary")?;
        r.i64("the dictionary")?;
        let prune_size = r.i64("the dictionary")?;
        if size < 0
            || nwords < 0
            || nlabels < 1
            || i64::from(nwords) + i64::from(nlabels) != i64::from(size)
        {
            return Err(format!(
                "is damaged: its dictionary sizes disagree ({size} entries, {nwords} words, {nlabels} labels)"
            ));
        }
        let mut words = HashMap::default();
        let mut labels = Vec::new();
        for i in 0..size as u32 {
            let end = r
                .bytes
                .iter()
                .position(|b| *b == 0)
                .ok_or("is truncated: a dictionary word has no end")?;
            let word = r.take(end + 1, "a dictionary word")?;
            let word = &word[..end];
            r.i64("a dictionary count")?;
            let kind = r.u8("a dictionary entry")?;
            match (kind, i < nwords as u32) {
                (0, true) => {
                    words.entry(word.to_vec()).or_insert(i);
                }
                (1, false) => labels.push(String::from_utf8_lossy(word).into_owned()),
                _ => return Err("is damaged: its dictionary mixes words and labels".into()),
            }
        }
        let prune = if prune_size >= 0 {
            let most = (r.bytes.len() / 8) as i64;
            let n = r.count(prune_size, "pruned n-gram count", most)?;
            let mut map = HashMap::with_capacity_and_hasher(n, Default::default());
            for _ in 0..n {
                let from = r.i32("the pruned n-grams")?;
                let to = r.i32("the pruned n-grams")?;
                map.insert(from, to);
            }
            Some(map)
        } else {
            None
        };

        let quant_input = r.u8("the input matrix")? != 0;
        let (rows, input) = read_matrix(&mut r, quant_input, dim, "input matrix")?;
        let expected_rows = match &prune {
            Some(map) => nwords as usize + map.len(),
            None => nwords as usize + bucket as usize,
        };
        if rows < expected_rows {
            return Err(format!(
                "is damaged: its input matrix has {rows} rows where its dictionary needs {expected_rows}"
            ));
        }
        if !quant_input && prune.is_some() {
            return Err("is damaged: a pruned dictionary with an unquantized matrix".into());
        }
        let quant_output = r.u8("the output matrix")? != 0;
        let (out_rows, output) =
            read_matrix(&mut r, quant_input && quant_output, dim, "output matrix")?;
        if out_rows != labels.len() {
            return Err(format!(
                "is damaged: its output matrix has {out_rows} rows for {} labels",
                labels.len()
            ));
        }
        let output = match output {
            Input::Dense(values) => values,
            Input::Quantized(q) => {
                let mut dense = vec![0.0; out_rows * dim];
                for (row, x) in dense.chunks_exact_mut(dim).enumerate() {
                    q.add_row(x, row, q.norm(row));
                }
                dense
            }
        };
        if !r.bytes.is_empty() {
            return Err(format!(
                "has {} bytes after the end of the model; it is damaged",
                r.bytes.len()
            ));
        }
        Ok(FastText {
            dim,
            word_ngrams,
            bucket,
            minn,
            maxn,
            nwords: nwords as u32,
            words,
            labels,
            prune,
            rows,
            input,
            output,
        })
    }

    /// An n-gram's hashed id → its row (fastText's `pushHash`), if it has one.
    fn ngram_row(&self, id: u32, rows: &mut Vec<u32>) {
        match &self.prune {
            None => rows.push(self.nwords + id),
            Some(map) => {
                if let Some(to) = map.get(&(id as i32))
                    && *to >= 0
                {
                    rows.push(self.nwords + *to as u32);
                }
            }
        }
    }

    /// The character n-gram rows of `<word>` (fastText's `computeSubwords`: n counts UTF-8
    /// characters, and a single-character n-gram of a word's ends is left out).
    fn subwords(&self, word: &[u8], rows: &mut Vec<u32>) {
        let mut padded = Vec::with_capacity(word.len() + 2);
        padded.push(b'<');
        padded.extend_from_slice(word);
        padded.push(b'>');
        let (minn, maxn) = (self.minn as usize, self.maxn as usize);
        for i in 0..padded.len() {
            if padded[i] & 0xC0 == 0x80 {
                continue;
            }
            let mut j = i;
            let mut n = 1;
            while j < padded.len() && n <= maxn {
                j += 1;
                while j < padded.len() && padded[j] & 0xC0 == 0x80 {
                    j += 1;
                }
                if n >= minn && !(n == 1 && (i == 0 || j == padded.len())) {
                    self.ngram_row(hash(&padded[i..j]) % self.bucket, rows);
                }
                n += 1;
            }
        }
    }

    /// The input rows of one line made of `fields` (joined by spaces), as fastText's `getLine`.
    pub fn rows(&self, fields: &[&str], rows: &mut Vec<u32>) {
        let mut hashes: Vec<i32> = Vec::new();
        let tokens = fields
            .iter()
            .flat_map(|f| {
                f.as_bytes()
                    .split(|b| matches!(b, b' ' | b'\n' | b'\r' | b'\t' | 0x0b | 0x0c | 0))
                    .filter(|t| !t.is_empty())
            })
            .chain(std::iter::once(EOS));
        for token in tokens {
            let known = self.words.get(token).copied();
            if known.is_none() && token.starts_with(LABEL_PREFIX) {
                continue;
            }
            hashes.push(hash(token) as i32);
            match known {
                Some(id) => {
                    rows.push(id);
                    if self.maxn > 0 && token != EOS {
                        self.subwords(token, rows);
                    }
                }
                None if token != EOS && self.maxn > 0 => self.subwords(token, rows),
                None => {}
            }
            // fastText's line ends at its first end-of-line token, a literal `</s>` included.
            if token == EOS {
                break;
            }
        }
        let n = self.word_ngrams as usize;
        for i in 0..hashes.len() {
            // The 32-bit hashes are sign-extended to 64 bits, as fastText's int32 → uint64 is.
            let mut h = hashes[i] as i64 as u64;
            for next in hashes.iter().take((i + n).min(hashes.len())).skip(i + 1) {
                h = h
                    .wrapping_mul(116_049_371)
                    .wrapping_add(*next as i64 as u64);
                self.ngram_row((h % u64::from(self.bucket)) as u32, rows);
            }
        }
    }

    /// fastText's text vector of `fields`: the mean of their input rows (zeros for none).
    pub fn hidden(&self, fields: &[&str], hidden: &mut [f32]) {
        thread_local! {
            static ROWS: std::cell::RefCell<Vec<u32>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        ROWS.with_borrow_mut(|rows| {
            rows.clear();
            self.rows(fields, rows);
            self.mean(rows, hidden);
            // A huge row must not pin its buffer for the rest of the thread's life.
            if rows.capacity() > 1 << 20 {
                *rows = Vec::new();
            }
        });
    }

    /// The mean of input rows `rows` into `hidden` (zeros for none).
    fn mean(&self, rows: &[u32], hidden: &mut [f32]) {
        hidden.fill(0.0);
        let dim = self.dim;
        for &row in rows {
            let row = row as usize;
            if row >= self.rows {
                continue;
            }
            match &self.input {
                Input::Dense(values) => {
                    for (h, v) in hidden.iter_mut().zip(&values[row * dim..(row + 1) * dim]) {
                        *h += v;
                    }
                }
                Input::Quantized(q) => q.add_row(hidden, row, q.norm(row)),
            }
        }
        if !rows.is_empty() {
            let scale = (1.0 / rows.len() as f64) as f32;
            hidden.iter_mut().for_each(|h| *h *= scale);
        }
    }
}

/// An imported model: fastText's text vector, then one head whose classes are fastText's labels,
/// each standing for the score `values[i]`; the lens reports the expected score Σ p·value.
pub fn into_model(ft: FastText, fields: u32, label: &str, values: Vec<f64>) -> super::Model {
    let features = super::FeatureConfig {
        buckets: ft.bucket,
        word_ngrams: ft.word_ngrams.min(255) as u8,
        char_min: if ft.maxn > 0 {
            ft.minn.min(255) as u8
        } else {
            0
        },
        char_max: ft.maxn.min(255) as u8,
    };
    let head = super::model::Head {
        label: label.to_string(),
        bias: vec![0.0; values.len()],
        values,
        weights: ft.output.clone(),
        nearest: false,
    };
    super::Model {
        features,
        fields,
        dim: ft.dim,
        embeddings: Vec::new(),
        heads: vec![head],
        imported: Some(std::sync::Arc::new(ft)),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    const DIM: usize = 4;
    const BUCKET: i32 = 16;
    const ROWS: usize = 3 + BUCKET as usize;

    fn pq(out: &mut Vec<u8>, dim: i32, nsubq: i32, dsub: i32, lastdsub: i32, seed: f32) {
        for v in [dim, nsubq, dsub, lastdsub] {
            out.extend(v.to_le_bytes());
        }
        for i in 0..dim as usize * KSUB {
            out.extend((((i as f32) * seed).sin()).to_le_bytes());
        }
    }

    /// A small supervised model file as fastText writes it: 3 words, 2 labels, word pairs and
    /// 2-3 character n-grams in 16 buckets; dense or product-quantized with norms.
    pub(crate) fn tiny_file(quantized: bool) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend(MAGIC.to_le_bytes());
        out.extend(12i32.to_le_bytes());
        for v in [DIM as i32, 5, 5, 1, 5, 2, 3, 3, BUCKET, 2, 3, 100] {
            out.extend(v.to_le_bytes());
        }
        out.extend(0.0001f64.to_le_bytes());
        out.extend(5i32.to_le_bytes());
        out.extend(3i32.to_le_bytes());
        out.extend(2i32.to_le_bytes());
        out.extend(100i64.to_le_bytes());
        out.extend((-1i64).to_le_bytes());
        for (word, kind) in [
            ("</s>", 0u8),
            ("good", 0),
            ("bad", 0),
            ("__label__a", 1),
            ("__label__b", 1),
        ] {
            out.extend(word.as_bytes());
            out.push(0);
            out.extend(7i64.to_le_bytes());
            out.push(kind);
        }
        out.push(u8::from(quantized));
        if quantized {
            out.push(1);
            out.extend((ROWS as i64).to_le_bytes());
            out.extend((DIM as i64).to_le_bytes());
            out.extend((ROWS as i32 * 2).to_le_bytes());
            out.extend((0..ROWS * 2).map(|i| (i * 37 % 256) as u8));
            pq(&mut out, DIM as i32, 2, 2, 2, 0.37);
            out.extend((0..ROWS).map(|i| (i * 11 % 256) as u8));
            pq(&mut out, 1, 1, 1, 1, 0.11);
        } else {
            out.extend((ROWS as i64).to_le_bytes());
            out.extend((DIM as i64).to_le_bytes());
            for i in 0..ROWS * DIM {
                out.extend(((i as f32 * 0.7).cos()).to_le_bytes());
            }
        }
        out.push(0);
        out.extend(2i64.to_le_bytes());
        out.extend((DIM as i64).to_le_bytes());
        for i in 0..2 * DIM {
            out.extend(((i as f32) * 0.3 - 1.0).to_le_bytes());
        }
        out
    }

    #[test]
    fn a_line_is_its_words_subwords_and_word_pairs() {
        let ft = FastText::parse(&tiny_file(false)).unwrap();
        assert_eq!(ft.labels, ["__label__a", "__label__b"]);
        let mut rows = Vec::new();
        ft.rows(&["good\nzz __label__b"], &mut rows);
        // good (id 1) and its n-grams of "<good>"; zz's n-grams of "<zz>"; </s> (id 0); then the
        // pairs good-zz and zz-</s>; the label-like token is no word.
        let mut want = vec![1];
        ft.subwords(b"good", &mut want);
        ft.subwords(b"zz", &mut want);
        want.push(0);
        let (g, z, e) = (
            hash(b"good") as i32,
            hash(b"zz") as i32,
            hash(b"</s>") as i32,
        );
        for (a, b) in [(g, z), (z, e)] {
            let h = (a as i64 as u64)
                .wrapping_mul(116_049_371)
                .wrapping_add(b as i64 as u64);
            want.push(3 + (h % BUCKET as u64) as u32);
        }
        assert_eq!(rows, want);
        // "<zz>" has the 2-grams <z zz z> and 3-grams <zz zz>: 5 n-grams.
        let mut zz = Vec::new();
        ft.subwords(b"zz", &mut zz);
        assert_eq!(zz.len(), 5);
        assert!(rows.iter().all(|r| (*r as usize) < ROWS));
        // A literal </s> ends the line, as in fastText.
        let (mut a, mut b) = (Vec::new(), Vec::new());
        ft.rows(&["good </s> bad"], &mut a);
        ft.rows(&["good"], &mut b);
        assert_eq!(a, b);
    }

    #[test]
    fn quantized_rows_decode_through_both_quantizers() {
        let ft = FastText::parse(&tiny_file(true)).unwrap();
        let Input::Quantized(q) = &ft.input else {
            panic!("not quantized")
        };
        let mut x = vec![0.0f32; DIM];
        q.add_row(&mut x, 5, q.norm(5));
        let norm = (55.0f32 * 0.11).sin();
        let code = [(10 * 37 % 256) as usize, (11 * 37 % 256) as usize];
        // Sub-quantizer 0 holds dims 0-1, 1 (the last) dims 2-3.
        let c = |at: usize| (at as f32 * 0.37).sin();
        let want = [
            c(code[0] * 2),
            c(code[0] * 2 + 1),
            c(KSUB * 2 + code[1] * 2),
            c(KSUB * 2 + code[1] * 2 + 1),
        ];
        for (got, want) in x.iter().zip(want) {
            assert!((got - norm * want).abs() < 1e-6, "{x:?}");
        }
        let mut hidden = vec![0.0; DIM];
        ft.hidden(&["good bad"], &mut hidden);
        assert!(hidden.iter().all(|h| h.is_finite()) && hidden.iter().any(|h| *h != 0.0));
    }

    #[test]
    fn fuzzed_files_never_panic_nor_allocate_beyond_the_file() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let (mut ok, mut refused) = (0, 0);
        for round in 0..20_000 {
            let mut bytes = tiny_file(round % 2 == 0);
            match round % 3 {
                0 => bytes.truncate(rng.random_range(0..bytes.len())),
                1 => {
                    for _ in 0..rng.random_range(1..4) {
                        let at = rng.random_range(0..bytes.len());
                        bytes[at] = rng.random();
                    }
                }
                // A size field set huge: i64/i32 fields sit at 4-byte steps in the header part.
                _ => {
                    let at = 4 * rng.random_range(2..30usize);
                    bytes[at..at + 4]
                        .copy_from_slice(&(i32::MAX - rng.random_range(0..3)).to_le_bytes());
                }
            }
            match FastText::parse(&bytes) {
                Ok(ft) => {
                    ok += 1;
                    let mut hidden = vec![0.0; ft.dim];
                    ft.hidden(&["good bad zz </s> x"], &mut hidden);
                    assert!(hidden.iter().all(|h| h.is_finite()));
                }
                Err(e) => {
                    refused += 1;
                    assert!(e.len() < 300 && !e.contains('\n'), "{e}");
                }
            }
        }
        assert!(refused > 10_000 && ok > 0, "ok {ok}, refused {refused}");
    }

    #[test]
    fn hash_matches_fasttext() {
        // Values fastText's Dictionary::hash gives (FNV-1a with sign-extended bytes).
        assert_eq!(hash(b""), 2_166_136_261);
        assert_eq!(hash(b"a"), 0xe40c_292c);
        // A non-ASCII byte is sign-extended: not plain FNV-1a.
        assert_ne!(hash("é".as_bytes()), {
            let mut h: u32 = 2_166_136_261;
            for b in "é".as_bytes() {
                h ^= u32::from(*b);
                h = h.wrapping_mul(16_777_619);
            }
            h
        });
    }
}
