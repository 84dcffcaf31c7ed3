//! Which shard this process is: `--shard K/N`, else a Slurm array task (`SLURM_ARRAY_TASK_ID` minus
//! `SLURM_ARRAY_TASK_MIN`, of `SLURM_ARRAY_TASK_COUNT`), else a Kubernetes Indexed Job pod
//! (`JOB_COMPLETION_INDEX`, of `--shards N`, since the pod is not told the count).

use crate::error::Error;

/// Shard `index` of `count` (0-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardSpec {
    pub index: usize,
    pub count: usize,
}

impl ShardSpec {
    /// `K/N`, K from 0 to N−1.
    pub fn parse(text: &str) -> Result<ShardSpec, Error> {
        let bad = || {
            Error::Usage(format!(
                "--shard {text}: write it as K/N with K from 0 to N-1, e.g. --shard 0/4"
            ))
        };
        let (k, n) = text.split_once('/').ok_or_else(bad)?;
        let index: usize = k.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(ShardSpec { index, count })
    }

    /// The shard from the flags, else from the environment (`env` reads a variable); `None` when
    /// the process is not a shard.
    pub fn resolve(
        flag: Option<&str>,
        shards: Option<usize>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<ShardSpec>, Error> {
        if shards == Some(0) {
            return Err(Error::Usage("--shards must be at least 1".into()));
        }
        if let Some(flag) = flag {
            let spec = ShardSpec::parse(flag)?;
            if let Some(n) = shards.filter(|n| *n != spec.count) {
                return Err(Error::Usage(format!(
                    "--shard {flag} says {} shards but --shards says {n}; give one of them",
                    spec.count
                )));
            }
            return Ok(Some(spec));
        }
        let number = |name: &str| -> Result<Option<usize>, Error> {
            match env(name) {
                None => Ok(None),
                Some(v) => v
                    .trim()
                    .parse()
                    .map(Some)
                    .map_err(|_| Error::Usage(format!("{name}={v} is not a whole number"))),
            }
        };
        if let Some(id) = number("SLURM_ARRAY_TASK_ID")? {
            let min = number("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
            let count = match (number("SLURM_ARRAY_TASK_COUNT")?, shards) {
                (Some(c), _) => c,
                (None, Some(n)) => n,
                (None, None) => {
                    return Err(Error::Usage(
                        "SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not; pass --shards N".into(),
                    ));
                }
            };
            if let Some(n) = shards.filter(|n| *n != count) {
                return Err(Error::Usage(format!(
                    "the Slurm array has {count} tasks but --shards says {n}; submit --array=0-{} or change --shards",
                    n - 1
                )));
            }
            return ShardSpec::parse(&format!("{}/{count}", id.saturating_sub(min))).map(Some);
        }
        if let Some(index) = number("JOB_COMPLETION_INDEX")? {
            let count = shards.ok_or_else(|| {
                Error::Usage(
                    "JOB_COMPLETION_INDEX is set (a Kubernetes Indexed Job) but the shard count is not; pass --shards N (the Job's completions)".into(),
                )
            })?;
            return ShardSpec::parse(&format!("{index}/{count}")).map(Some);
        }
        match shards {
            Some(_) => Err(Error::Usage(
                "--shards N needs a shard index: --shard K/N, a Slurm array task or JOB_COMPLETION_INDEX".into(),
            )),
            None => Ok(None),
        }
    }

    /// The done marker's file name: `shard-K-of-N.json`.
    pub fn marker_name(&self) -> String {
        format!("shard-{}-of-{}.json", self.index, self.count)
    }
}

impl std::fmt::Display for ShardSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn resolve(
        flag: Option<&str>,
        shards: Option<usize>,
        vars: &[(&str, &str)],
    ) -> Result<Option<ShardSpec>, Error> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ShardSpec::resolve(flag, shards, &|k| vars.get(k).cloned())
    }

    #[test]
    fn flag_then_slurm_then_kubernetes() {
        let spec = |index, count| Ok::<_, Error>(Some(ShardSpec { index, count }));
        assert_eq!(resolve(None, None, &[]).unwrap(), None);
        assert_eq!(
            resolve(Some("2/4"), None, &[("SLURM_ARRAY_TASK_ID", "0")]).unwrap(),
            spec(2, 4).unwrap()
        );
        let slurm = [
            ("SLURM_ARRAY_TASK_ID", "7"),
            ("SLURM_ARRAY_TASK_MIN", "5"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ];
        assert_eq!(resolve(None, None, &slurm).unwrap(), spec(2, 4).unwrap());
        assert_eq!(
            resolve(None, Some(3), &[("JOB_COMPLETION_INDEX", "1")]).unwrap(),
            spec(1, 3).unwrap()
        );
        assert_eq!(
            ShardSpec { index: 1, count: 3 }.marker_name(),
            "shard-1-of-3.json"
        );
    }

    #[test]
    fn bad_shards_say_what_to_give() {
        let err = |r: Result<Option<ShardSpec>, Error>| r.unwrap_err().to_string();
        assert_eq!(
            err(resolve(Some("5/4"), None, &[])),
            "--shard 5/4: write it as K/N with K from 0 to N-1, e.g. --shard 0/4"
        );
        for bad in ["4/4", "x/2", "1", "0/0", "-1/2"] {
            assert!(
                err(resolve(Some(bad), None, &[])).contains("write it as K/N"),
                "{bad}"
            );
        }
        assert!(
            err(resolve(None, None, &[("JOB_COMPLETION_INDEX", "1")])).contains("pass --shards N")
        );
        assert!(err(resolve(None, Some(4), &[])).contains("needs a shard index"));
        assert!(err(resolve(Some("1/4"), Some(3), &[])).contains("give one of them"));
        let slurm = [
            ("SLURM_ARRAY_TASK_ID", "1"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ];
        assert!(err(resolve(None, Some(2), &slurm)).contains("the Slurm array has 4 tasks"));
    }
}
