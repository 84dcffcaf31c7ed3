//! One checksum per lens, the one every output names (`run.json`, `stats.json`, shard markers): a
//! changed prompt, function, config, component or model file changes it.

use super::Lens;
use sha2::{Digest, Sha256};

impl Lens {
    /// `sha256:` and the hex sha256 of the lens's config, templates and function, its component's
    /// bytes and its model file's sha256.
    pub fn checksum(&self) -> String {
        let mut h = Sha256::new();
        let parts = [
            self.config.to_string(),
            self.system_template.clone(),
            self.prompt_template.clone(),
            self.function.to_string(),
        ];
        for part in &parts {
            // Lengths first, so moving text from one part to the next changes the sum.
            h.update((part.len() as u64).to_le_bytes());
            h.update(part.as_bytes());
        }
        if let Some(c) = &self.component {
            h.update(b"component");
            h.update(c.bytes.as_slice());
        }
        if let Some(m) = &self.model {
            h.update(b"model");
            h.update(m.sha256.as_bytes());
        }
        format!("sha256:{:x}", h.finalize())
    }
}

#[cfg(test)]
mod tests {
    use crate::lens::Catalog;

    #[test]
    fn any_change_to_a_lens_changes_its_checksum() {
        let lens = Catalog::new(Vec::new()).get("textbook_quality").unwrap();
        let sum = lens.checksum();
        assert!(sum.starts_with("sha256:") && sum.len() == 7 + 64, "{sum}");
        assert_eq!(lens.checksum(), sum);
        let mut prompt = lens.clone();
        prompt.prompt_template.push(' ');
        let mut function = lens.clone();
        function.function["description"] = "other".into();
        let mut config = lens.clone();
        config.config["extra"] = 1.into();
        // Text moved from one part to the next must change it too.
        let mut moved = lens.clone();
        let last = moved.system_template.pop().unwrap();
        moved.prompt_template.insert(0, last);
        for changed in [prompt, function, config, moved] {
            assert_ne!(changed.checksum(), sum);
        }
    }
}
