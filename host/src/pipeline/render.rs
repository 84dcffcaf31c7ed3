//! Render stage: a prompt's inputs → the system and user messages (minijinja).

use super::{Inputs, Stage, StageError};
use crate::lens::Lens;
use minijinja::Environment;

/// The two rendered messages of one prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Messages {
    pub system: String,
    pub user: String,
}

/// A lens's templates, parsed once.
pub struct Renderer {
    env: Environment<'static>,
}

impl Renderer {
    pub fn new(lens: &Lens) -> Result<Renderer, minijinja::Error> {
        let mut env = Environment::new();
        // Prompts are plain text, not HTML: never escape the data being rated.
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        env.add_template_owned("system", lens.system_template.clone())?;
        env.add_template_owned("prompt", lens.prompt_template.clone())?;
        Ok(Renderer { env })
    }

    pub fn render(&self, inputs: &Inputs) -> Result<Messages, StageError> {
        let render = |name: &str| {
            self.env
                .get_template(name)
                .and_then(|t| t.render(inputs))
                .map(|s| s.trim().to_string())
                .map_err(|e| {
                    StageError::new(
                        Stage::Render,
                        super::FailureKind::Template,
                        format!("{name}.jinja: {}", crate::lens::template_error(&e)),
                    )
                })
        };
        Ok(Messages {
            system: render("system")?,
            user: render("prompt")?,
        })
    }
}
