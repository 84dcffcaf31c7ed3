//! Turn a lens folder into a validated [`Lens`], or a clear error naming the file and the problem.

use super::{ComponentFile, Lens, LensKind, LensSource, ModelFile, ScoreSpec};
use serde_json::Value;
use std::io::Read;
use std::path::{Component, Path};
use std::sync::Arc;

/// The largest component file a lens may ship (a Python component is about 40 MB).
pub const COMPONENT_MAX_BYTES: u64 = 100 << 20;

/// A lens that could not be loaded. Every message names the lens, the file and what to fix.
#[derive(Debug, thiserror::Error)]
#[error("lens `{lens}`: {file}: {problem}")]
pub struct LensError {
    pub lens: String,
    pub file: String,
    pub problem: String,
}

/// Read access to the files of one lens folder, on disk or embedded in the binary.
pub(crate) trait LensFiles {
    /// The file's bytes, or `None` when it does not exist.
    fn read(&self, name: &str) -> std::io::Result<Option<Vec<u8>>>;

    /// A component or model file's bytes (`name` is already known to be a plain relative path),
    /// or `None` when it does not exist; `Err` is the end of a sentence saying why it may not be read.
    fn read_component(&self, name: &str, rule: &FileRule) -> Result<Option<Vec<u8>>, String> {
        let _ = rule;
        self.read(name).map_err(|e| format!("cannot be read: {e}"))
    }
}

/// What a binary file named by config.json may be: its size limit and how messages name it.
pub(crate) struct FileRule {
    pub max_bytes: u64,
    /// "a lens component", "a model file".
    pub noun: &'static str,
    /// What the user should name instead of something that is not a regular file.
    pub hint: &'static str,
}

const COMPONENT_RULE: FileRule = FileRule {
    max_bytes: COMPONENT_MAX_BYTES,
    noun: "a lens component",
    hint: "name the compiled .wasm component",
};

const MODEL_RULE: FileRule = FileRule {
    max_bytes: crate::train::format::MAX_FILE_BYTES,
    noun: "a model file",
    hint: "name the model.bin that `classified train` wrote",
};

impl LensFiles for &Path {
    fn read(&self, name: &str) -> std::io::Result<Option<Vec<u8>>> {
        match std::fs::read(self.join(name)) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Only a regular file that is inside the folder once symlinks are resolved, of at most
    /// [`COMPONENT_MAX_BYTES`]: not `/dev/zero` (endless), a FIFO (blocks forever) or another
    /// lens's file through a symlink.
    fn read_component(&self, name: &str, rule: &FileRule) -> Result<Option<Vec<u8>>, String> {
        let path = self.join(name);
        let real = match path.canonicalize() {
            Ok(real) => real,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("cannot be read: {e}")),
        };
        let folder = self
            .canonicalize()
            .map_err(|e| format!("cannot be read: {e}"))?;
        if !real.starts_with(&folder) {
            return Err("leads outside the lens folder (through a symlink); the component must be a file inside it".into());
        }
        let file = open_without_blocking(&real).map_err(|e| format!("cannot be read: {e}"))?;
        let meta = file
            .metadata()
            .map_err(|e| format!("cannot be read: {e}"))?;
        if !meta.is_file() {
            return Err(format!("is not a regular file; {}", rule.hint));
        }
        let too_big = || {
            format!(
                "is larger than the {} MB {} may be",
                rule.max_bytes >> 20,
                rule.noun
            )
        };
        if meta.len() > rule.max_bytes {
            return Err(too_big());
        }
        let mut bytes = Vec::with_capacity(meta.len() as usize);
        file.take(rule.max_bytes + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("cannot be read: {e}"))?;
        if bytes.len() as u64 > rule.max_bytes {
            return Err(too_big());
        }
        Ok(Some(bytes))
    }
}

/// Open for reading without waiting for a writer: opening a FIFO otherwise blocks until one comes.
fn open_without_blocking(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    options.open(path)
}

/// A component path from config.json must stay in the lens folder: relative, without `..`.
fn inside_folder(path: &str) -> bool {
    let path = Path::new(path);
    !path.as_os_str().is_empty()
        && path
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
        && path.components().any(|c| matches!(c, Component::Normal(_)))
}

/// Load the lens in folder `dir`; its name is the folder's name.
pub fn load_dir(dir: &Path) -> Result<Lens, LensError> {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| dir.display().to_string());
    if !dir.is_dir() {
        return Err(LensError {
            lens: name,
            file: dir.display().to_string(),
            problem: "is not a folder; a lens is a folder holding config.json, function.json, system.jinja and prompt.jinja".into(),
        });
    }
    load(&name, LensSource::Dir(dir.to_path_buf()), &dir)
}

/// Load and validate one lens from its files.
pub(crate) fn load(
    name: &str,
    source: LensSource,
    files: &dyn LensFiles,
) -> Result<Lens, LensError> {
    let err = |file: &str, problem: String| LensError {
        lens: name.to_string(),
        file: file.to_string(),
        problem,
    };
    let read = |file: &str| -> Result<Option<Vec<u8>>, LensError> {
        files
            .read(file)
            .map_err(|e| err(file, format!("cannot be read: {e}")))
    };
    let read_text = |file: &str| -> Result<Option<String>, LensError> {
        match read(file)? {
            None => Ok(None),
            Some(bytes) => String::from_utf8(bytes)
                .map(Some)
                .map_err(|_| err(file, "is not valid UTF-8 text".into())),
        }
    };
    let parse_json = |file: &str, text: &str| -> Result<Value, LensError> {
        serde_json::from_str(text).map_err(|e| err(file, format!("is not valid JSON: {e}")))
    };

    // config.json
    let config_text = read_text("config.json")?.ok_or_else(|| {
        err(
            "config.json",
            "is missing; add {\"input_fields\": [...], \"type\": \"pretrain\"}".into(),
        )
    })?;
    let config = parse_json("config.json", &config_text)?;
    let kind: LensKind = match config.get("type") {
        None => {
            return Err(err(
                "config.json",
                "has no \"type\"; use \"pretrain\", \"instruct\", \"local\" or \"model\"".into(),
            ));
        }
        Some(t) => serde_json::from_value(t.clone()).map_err(|_| {
            err(
                "config.json",
                format!("\"type\" is {t}; use \"pretrain\", \"instruct\", \"local\" or \"model\""),
            )
        })?,
    };
    let input_fields: Vec<String> = config
        .get("input_fields")
        .and_then(Value::as_array)
        .and_then(|a| {
            a.iter()
                .map(|v| v.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
        })
        .filter(|f| !f.is_empty())
        .ok_or_else(|| {
            err(
                "config.json",
                "needs \"input_fields\": a non-empty list of field names".into(),
            )
        })?;
    if kind == LensKind::Pretrain && input_fields.len() != 1 {
        return Err(err(
            "config.json",
            format!(
                "a pretrain lens chunks exactly one text field, but input_fields lists {}",
                input_fields.len()
            ),
        ));
    }

    // function.json (the seed called it functions.json)
    let (function_file, function_text) = match read_text("function.json")? {
        Some(t) => ("function.json", t),
        None => match read_text("functions.json")? {
            Some(t) => ("functions.json", t),
            None => {
                return Err(err(
                    "function.json",
                    "is missing; add one OpenAI function schema".into(),
                ));
            }
        },
    };
    let function = match parse_json(function_file, &function_text)? {
        Value::Array(mut items) if items.len() == 1 => items.remove(0),
        Value::Array(items) => {
            return Err(err(
                function_file,
                format!("holds {} functions; a lens has exactly one", items.len()),
            ));
        }
        v => v,
    };
    let (function_name, score_labels, rationale_labels, score_specs) =
        labels(&function).map_err(|problem| err(function_file, problem))?;

    // Templates: required for model lenses, and may only use the declared input fields.
    let (system_template, prompt_template) = if !kind.asks_model() {
        (String::new(), String::new())
    } else {
        let mut sources = Vec::new();
        for file in ["system.jinja", "prompt.jinja"] {
            let source = read_text(file)?.ok_or_else(|| err(file, "is missing".into()))?;
            check_template(file, &source, &input_fields).map_err(|p| err(file, p))?;
            sources.push(source);
        }
        let prompt = sources.pop().unwrap_or_default();
        (sources.pop().unwrap_or_default(), prompt)
    };

    // Optional WebAssembly component: a compiled binary inside the lens folder. Its content is
    // never quoted in a message (it may be any file a config names).
    let component = match config.get("component") {
        None | Some(Value::Null) => None,
        Some(Value::String(path)) => {
            if !inside_folder(path) {
                return Err(err(
                    "config.json",
                    format!(
                        "\"component\" is {path:?}; it must name a file inside the lens folder, such as \"lens.wasm\""
                    ),
                ));
            }
            let bytes = files.read_component(path, &COMPONENT_RULE).map_err(|problem| err(path, problem))?.ok_or_else(|| {
                err(path, "is named by config.json \"component\" but does not exist; build the component first".into())
            })?;
            if !bytes.starts_with(b"\0asm") {
                return Err(err(
                    path,
                    "is not a compiled WebAssembly component (a binary .wasm file); build the component and name the .wasm it produces".into(),
                ));
            }
            Some(ComponentFile {
                name: path.clone(),
                bytes: Arc::new(bytes),
            })
        }
        Some(other) => {
            return Err(err(
                "config.json",
                format!("\"component\" must be a file name, not {other}"),
            ));
        }
    };
    if kind == LensKind::Local && component.is_none() {
        return Err(err(
            "config.json",
            "a \"local\" lens scores rows with its component; add \"component\": \"lens.wasm\""
                .into(),
        ));
    }

    let model = match kind {
        LensKind::Model => Some(model_file(
            files,
            &config,
            &input_fields,
            &score_labels,
            &err,
        )?),
        _ => None,
    };

    Ok(Lens {
        name: name.to_string(),
        kind,
        input_fields,
        system_template,
        prompt_template,
        function,
        function_name,
        score_labels,
        score_specs,
        rationale_labels,
        config,
        source,
        component,
        model,
    })
}

/// A model lens's classifier: config.json `"model"` names a file inside the folder, which must
/// load (`train::format`) and fit the lens: one input per field, the scores of function.json in
/// its order.
fn model_file(
    files: &dyn LensFiles,
    config: &Value,
    input_fields: &[String],
    score_labels: &[String],
    err: &dyn Fn(&str, String) -> LensError,
) -> Result<ModelFile, LensError> {
    let path = match config.get("model") {
        Some(Value::String(path)) if inside_folder(path) => path.clone(),
        Some(Value::String(path)) => {
            return Err(err(
                "config.json",
                format!(
                    "\"model\" is {path:?}; it must name a file inside the lens folder, such as \"model.bin\""
                ),
            ));
        }
        _ => {
            return Err(err(
                "config.json",
                "a \"model\" lens needs \"model\": the name of its model file, such as \"model.bin\" (`classified train` writes both)".into(),
            ));
        }
    };
    let bytes = files
        .read_component(&path, &MODEL_RULE)
        .map_err(|problem| err(&path, problem))?
        .ok_or_else(|| {
            err(
                &path,
                "is named by config.json \"model\" but does not exist; train it with `classified train`".into(),
            )
        })?;
    let model = crate::train::format::from_bytes(&bytes).map_err(|problem| err(&path, problem))?;
    if model.fields as usize != input_fields.len() {
        return Err(err(
            &path,
            format!(
                "reads {} input field(s) but config.json lists {} ({}); train the model again for these fields",
                model.fields,
                input_fields.len(),
                input_fields.join(", ")
            ),
        ));
    }
    if model.labels() != score_labels {
        return Err(err(
            &path,
            format!(
                "scores {} but function.json asks for {}; train the model again with this function.json",
                model.labels().join(", "),
                score_labels.join(", ")
            ),
        ));
    }
    Ok(ModelFile {
        name: path,
        size: bytes.len(),
        sha256: {
            use sha2::Digest;
            format!("{:x}", sha2::Sha256::digest(&bytes))
        },
        model: Arc::new(model),
    })
}

/// The function's name, score labels, rationale labels and score constraints, from its schema.
type Labels = (String, Vec<String>, Vec<String>, Vec<ScoreSpec>);

/// Read the function's name, score labels and rationale labels from its schema.
fn labels(function: &Value) -> Result<Labels, String> {
    let name = function
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .ok_or("has no function \"name\"")?;
    let valid_name = name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !valid_name {
        return Err(format!(
            "function name {name:?} must be 1-64 letters, digits, '_' or '-'"
        ));
    }
    let params = function
        .get("parameters")
        .ok_or("has no \"parameters\" object")?;
    let props = params
        .get("properties")
        .and_then(Value::as_object)
        .ok_or("has no \"parameters.properties\" object")?;
    let required = params
        .get("required")
        .and_then(Value::as_array)
        .ok_or("has no \"parameters.required\" list; list every score and rationale field there")?;
    let (mut scores, mut rationales, mut specs) = (Vec::new(), Vec::new(), Vec::new());
    for field in required {
        let field = field.as_str().ok_or("\"required\" must list field names")?;
        let prop = props.get(field).ok_or_else(|| {
            format!("\"required\" lists {field:?}, which is not in \"properties\"")
        })?;
        match prop.get("type").and_then(Value::as_str) {
            Some("integer" | "number") => {
                specs.push(ScoreSpec::from_schema(field, prop)?);
                scores.push(field.to_string());
            }
            Some("string") => rationales.push(field.to_string()),
            _ => {}
        }
    }
    if scores.is_empty() {
        return Err("has no required integer field; a lens needs at least one score".into());
    }
    Ok((name.to_string(), scores, rationales, specs))
}

/// Parse a template and check that every variable it reads is an input field.
fn check_template(file: &str, source: &str, input_fields: &[String]) -> Result<(), String> {
    let mut env = minijinja::Environment::new();
    env.add_template(file, source)
        .map_err(|e| format!("template error: {}", template_error(&e)))?;
    let tmpl = env.get_template(file).map_err(|e| e.to_string())?;
    let mut unknown: Vec<String> = tmpl
        .undeclared_variables(false)
        .into_iter()
        .filter(|v| !input_fields.contains(v))
        .collect();
    unknown.sort();
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "uses {} not in config.json input_fields ({}); add it there or remove it from the template",
            unknown
                .iter()
                .map(|v| format!("`{v}`"))
                .collect::<Vec<_>>()
                .join(", "),
            input_fields.join(", ")
        ))
    }
}

/// minijinja's error with its line number, on one line.
pub fn template_error(e: &minijinja::Error) -> String {
    match e.line() {
        Some(line) => format!(
            "{} (line {line})",
            e.detail().unwrap_or(&e.kind().to_string())
        ),
        None => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    /// A valid pretrain lens folder; each test breaks one thing.
    fn lens_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let lens = dir.path().join("mylens");
        fs::create_dir(&lens).unwrap();
        fs::write(
            lens.join("config.json"),
            r#"{"input_fields": ["resource"], "type": "pretrain"}"#,
        )
        .unwrap();
        fs::write(lens.join("system.jinja"), "You rate text.").unwrap();
        fs::write(lens.join("prompt.jinja"), "Rate this:\n{{ resource }}").unwrap();
        fs::write(
            lens.join("function.json"),
            r#"{"name": "rate", "parameters": {"type": "object",
                "properties": {"why": {"type": "string"}, "depth": {"type": "integer"}, "overall": {"type": "number"}, "extra": {"type": "integer"}},
                "required": ["why", "depth", "overall"]}}"#,
        )
        .unwrap();
        dir
    }

    fn load_err(dir: &tempfile::TempDir) -> String {
        load_dir(&dir.path().join("mylens"))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn labels_follow_required_order_and_skip_unrequired_fields() {
        let dir = lens_dir();
        let lens = load_dir(&dir.path().join("mylens")).unwrap();
        assert_eq!(lens.name, "mylens");
        assert_eq!(lens.kind, LensKind::Pretrain);
        assert_eq!(lens.score_labels, ["depth", "overall"]);
        assert_eq!(lens.rationale_labels, ["why"]);
        assert_eq!(lens.function_name, "rate");
        assert_eq!(lens.last_label(), "overall");
    }

    #[test]
    fn the_seeds_functions_json_list_is_accepted() {
        let dir = lens_dir();
        let lens = dir.path().join("mylens");
        let function = fs::read_to_string(lens.join("function.json")).unwrap();
        fs::remove_file(lens.join("function.json")).unwrap();
        fs::write(lens.join("functions.json"), format!("[{function}]")).unwrap();
        assert_eq!(load_dir(&lens).unwrap().score_labels, ["depth", "overall"]);
    }

    #[test]
    fn missing_files_are_named() {
        for file in [
            "config.json",
            "function.json",
            "system.jinja",
            "prompt.jinja",
        ] {
            let dir = lens_dir();
            fs::remove_file(dir.path().join("mylens").join(file)).unwrap();
            let e = load_err(&dir);
            assert!(
                e.contains("mylens") && e.contains(file) && e.contains("missing"),
                "{e}"
            );
        }
    }

    #[test]
    fn template_syntax_error_names_file_and_line() {
        let dir = lens_dir();
        fs::write(
            dir.path().join("mylens/prompt.jinja"),
            "line one\n{{ resource ",
        )
        .unwrap();
        let e = load_err(&dir);
        assert!(
            e.contains("prompt.jinja") && e.contains("template error") && e.contains("line"),
            "{e}"
        );
    }

    #[test]
    fn template_variable_not_in_input_fields_is_named() {
        let dir = lens_dir();
        fs::write(
            dir.path().join("mylens/system.jinja"),
            "{{ audience }} {{ resource }}",
        )
        .unwrap();
        let e = load_err(&dir);
        assert!(
            e.contains("system.jinja") && e.contains("`audience`") && e.contains("input_fields"),
            "{e}"
        );
    }

    #[test]
    fn schema_without_integer_field_is_rejected() {
        let dir = lens_dir();
        fs::write(
            dir.path().join("mylens/function.json"),
            r#"{"name": "rate", "parameters": {"type": "object", "properties": {"why": {"type": "string"}}, "required": ["why"]}}"#,
        )
        .unwrap();
        let e = load_err(&dir);
        assert!(e.contains("function.json") && e.contains("integer"), "{e}");
    }

    #[test]
    fn bad_config_values_are_explained() {
        let dir = lens_dir();
        let config = dir.path().join("mylens/config.json");
        fs::write(
            &config,
            r#"{"input_fields": ["resource"], "type": "poetry"}"#,
        )
        .unwrap();
        assert!(load_err(&dir).contains("\"pretrain\", \"instruct\", \"local\" or \"model\""));
        fs::write(&config, r#"{"input_fields": [], "type": "pretrain"}"#).unwrap();
        assert!(load_err(&dir).contains("input_fields"));
        fs::write(
            &config,
            r#"{"input_fields": ["a", "resource"], "type": "pretrain"}"#,
        )
        .unwrap();
        assert!(load_err(&dir).contains("exactly one"));
        fs::write(&config, "{not json").unwrap();
        assert!(load_err(&dir).contains("not valid JSON"));
        fs::write(
            &config,
            r#"{"input_fields": ["resource"], "type": "pretrain", "component": "lens.wasm"}"#,
        )
        .unwrap();
        assert!(load_err(&dir).contains("lens.wasm"));
    }

    /// Point the lens's config.json "component" at `path`.
    fn set_component(dir: &tempfile::TempDir, path: &str) {
        fs::write(
            dir.path().join("mylens/config.json"),
            serde_json::json!({"input_fields": ["resource"], "type": "pretrain", "component": path})
                .to_string(),
        )
        .unwrap();
    }

    fn component_err(dir: &tempfile::TempDir, path: &str) -> String {
        set_component(dir, path);
        load_err(dir)
    }

    #[test]
    fn the_component_must_be_a_binary_file_inside_the_lens_folder() {
        let dir = lens_dir();
        let lens = dir.path().join("mylens");
        // Paths that leave the folder are refused before anything is read.
        for path in ["/etc/passwd", "../other/lens.wasm", "/dev/zero", "", "."] {
            let e = component_err(&dir, path);
            assert!(
                e.contains("must name a file inside the lens folder"),
                "{path}: {e}"
            );
            assert!(!e.contains("root:"), "{path}: {e}");
        }
        // A symlink that leads out of the folder is refused too.
        fs::create_dir(dir.path().join("other")).unwrap();
        fs::write(dir.path().join("other/lens.wasm"), b"\0asm\x0d\0\x01\0").unwrap();
        std::os::unix::fs::symlink(dir.path().join("other/lens.wasm"), lens.join("link.wasm"))
            .unwrap();
        assert!(component_err(&dir, "link.wasm").contains("leads outside the lens folder"));
        std::os::unix::fs::symlink("/dev/zero", lens.join("zero.wasm")).unwrap();
        assert!(component_err(&dir, "zero.wasm").contains("leads outside the lens folder"));
        // A FIFO would block the reader forever; a folder is no file either.
        let fifo = std::ffi::CString::new(lens.join("fifo.wasm").to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        let started = std::time::Instant::now();
        assert!(component_err(&dir, "fifo.wasm").contains("is not a regular file"));
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
        fs::create_dir(lens.join("folder.wasm")).unwrap();
        assert!(component_err(&dir, "folder.wasm").contains("is not a regular file"));
        // 150 MB of zeros (sparse: no disk used) is refused by its size, and quoted nowhere.
        let big = fs::File::create(lens.join("big.wasm")).unwrap();
        big.set_len(150_000_000).unwrap();
        let e = component_err(&dir, "big.wasm");
        assert!(e.contains("larger than the 100 MB"), "{e}");
        assert!(e.len() < 300, "{e}");
        // Text (a copy of a password file, or WebAssembly text) is not a binary component, and its
        // content stays out of the message.
        fs::write(
            lens.join("passwd.wasm"),
            "root:x:0:0:root:/root:/bin/bash\n",
        )
        .unwrap();
        let e = component_err(&dir, "passwd.wasm");
        assert!(e.contains("is not a compiled WebAssembly component"), "{e}");
        assert!(!e.contains("root:x"), "{e}");
        fs::write(lens.join("text.wat"), "(component)").unwrap();
        assert!(
            component_err(&dir, "text.wat").contains("is not a compiled WebAssembly component")
        );
        // A binary inside the folder, also under a subfolder, loads.
        fs::create_dir(lens.join("build")).unwrap();
        fs::write(lens.join("build/lens.wasm"), b"\0asm\x0d\0\x01\0").unwrap();
        set_component(&dir, "./build/lens.wasm");
        let loaded = load_dir(&lens).unwrap();
        assert_eq!(loaded.component.unwrap().bytes.len(), 8);
    }

    #[test]
    fn score_constraints_come_from_function_json() {
        let dir = lens_dir();
        fs::write(
            dir.path().join("mylens/function.json"),
            r#"{"name": "rate", "parameters": {"type": "object",
                "properties": {"depth": {"type": "integer", "minimum": 1, "maximum": 3}, "overall": {"type": "number", "enum": [0, 0.5, 1]}},
                "required": ["depth", "overall"]}}"#,
        )
        .unwrap();
        let lens = load_dir(&dir.path().join("mylens")).unwrap();
        assert!(lens.check_scores(&[2.0, 0.5]).is_ok());
        assert!(
            lens.check_scores(&[4.0, 0.5])
                .unwrap_err()
                .contains("`depth` = 4")
        );
        assert!(
            lens.check_scores(&[2.0, 0.7])
                .unwrap_err()
                .contains("(0, 0.5, 1)")
        );
        fs::write(
            dir.path().join("mylens/function.json"),
            r#"{"name": "rate", "parameters": {"type": "object",
                "properties": {"overall": {"type": "integer", "maximum": "three"}}, "required": ["overall"]}}"#,
        )
        .unwrap();
        assert!(load_err(&dir).contains("\"maximum\""));
    }

    #[test]
    fn required_field_missing_from_properties_is_named() {
        let dir = lens_dir();
        fs::write(
            dir.path().join("mylens/function.json"),
            r#"{"name": "rate", "parameters": {"type": "object", "properties": {"overall": {"type": "integer"}}, "required": ["overall", "depth"]}}"#,
        )
        .unwrap();
        assert!(load_err(&dir).contains("\"depth\""));
    }

    /// A model lens folder around the tiny test model (one field, score `overall` 1-3).
    fn model_lens_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let lens = dir.path().join("mylens");
        fs::create_dir(&lens).unwrap();
        fs::write(
            lens.join("config.json"),
            r#"{"input_fields": ["resource"], "type": "model", "model": "model.bin"}"#,
        )
        .unwrap();
        fs::write(
            lens.join("function.json"),
            r#"{"name": "rate", "parameters": {"type": "object",
                "properties": {"why": {"type": "string"}, "overall": {"type": "integer", "minimum": 1, "maximum": 3}},
                "required": ["why", "overall"]}}"#,
        )
        .unwrap();
        let model = crate::train::format::to_bytes(&crate::train::model::tests::tiny());
        fs::write(lens.join("model.bin"), model).unwrap();
        dir
    }

    #[test]
    fn a_model_lens_loads_its_model_and_needs_no_prompts() {
        let dir = model_lens_dir();
        let lens = load_dir(&dir.path().join("mylens")).unwrap();
        assert_eq!(lens.kind, LensKind::Model);
        assert!(!lens.kind.asks_model());
        assert!(lens.system_template.is_empty() && lens.prompt_template.is_empty());
        let model = lens.model.unwrap();
        assert_eq!(model.name, "model.bin");
        assert_eq!(model.model.labels(), ["overall"]);
    }

    #[test]
    fn a_model_lens_whose_model_does_not_fit_is_named() {
        let dir = model_lens_dir();
        let lens = dir.path().join("mylens");
        let config = lens.join("config.json");
        fs::write(
            &config,
            r#"{"input_fields": ["resource"], "type": "model"}"#,
        )
        .unwrap();
        assert!(load_err(&dir).contains("needs \"model\""));
        fs::write(
            &config,
            r#"{"input_fields": ["resource"], "type": "model", "model": "../model.bin"}"#,
        )
        .unwrap();
        assert!(load_err(&dir).contains("inside the lens folder"));
        fs::write(
            &config,
            r#"{"input_fields": ["a", "b"], "type": "model", "model": "model.bin"}"#,
        )
        .unwrap();
        let e = load_err(&dir);
        assert!(
            e.contains("model.bin") && e.contains("reads 1 input field(s)"),
            "{e}"
        );
        fs::write(
            &config,
            r#"{"input_fields": ["resource"], "type": "model", "model": "model.bin"}"#,
        )
        .unwrap();
        fs::write(
            lens.join("function.json"),
            r#"{"name": "rate", "parameters": {"type": "object",
                "properties": {"depth": {"type": "integer"}, "overall": {"type": "integer"}},
                "required": ["depth", "overall"]}}"#,
        )
        .unwrap();
        let e = load_err(&dir);
        assert!(
            e.contains("scores overall but function.json asks for depth, overall"),
            "{e}"
        );
        fs::remove_file(lens.join("model.bin")).unwrap();
        assert!(load_err(&dir).contains("does not exist"));
        fs::create_dir(lens.join("model.bin")).unwrap();
        assert!(load_err(&dir).contains("is not a regular file; name the model.bin"));
    }
}
