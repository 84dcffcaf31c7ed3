//! Why a Hub dataset could not be opened, each as one plain sentence that says what to do.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum HubError {
    /// Missing and private repos look the same to the Hub (401 `RepoNotFound`).
    #[error(
        "dataset {repo} was not found on {endpoint}; check the id, or if it is private set HF_TOKEN to a token that can read it{}",
        if *.has_token { " (the token sent was not accepted for it)" } else { "" }
    )]
    RepoNotFound {
        repo: String,
        endpoint: String,
        has_token: bool,
    },

    /// 401 `GatedRepo`: not logged in.
    #[error(
        "dataset {repo} is gated; log in by setting HF_TOKEN (or running `huggingface-cli login`), then accept its conditions at {endpoint}/datasets/{repo}"
    )]
    GatedNeedsLogin { repo: String, endpoint: String },

    /// 403 `GatedRepo`: logged in, access not granted (yet).
    #[error(
        "your Hub token has not been granted access to the gated dataset {repo}; request access at {endpoint}/datasets/{repo} and run again once it is approved"
    )]
    GatedNoAccess { repo: String, endpoint: String },

    #[error(
        "revision \"{revision}\" does not exist in dataset {repo}; use one of its branches, tags or commit hashes"
    )]
    RevisionNotFound { repo: String, revision: String },

    #[error("{path} does not exist in dataset {repo} at revision {revision}")]
    EntryNotFound {
        repo: String,
        revision: String,
        path: String,
    },

    /// The Hub kept answering 429 after every retry.
    #[error(
        "the Hub at {endpoint} is rate-limiting these requests (429) and still was after {retries} retries; wait a few minutes, or set HF_TOKEN (logged-in users get higher limits)"
    )]
    RateLimited { endpoint: String, retries: u32 },

    #[error(
        "cannot reach the Hub at {endpoint}: {reason}; check the network (or HF_ENDPOINT), or set HF_HUB_OFFLINE=1 to use what is in the Hub cache"
    )]
    Network { endpoint: String, reason: String },

    /// Offline mode and the cache lacks something.
    #[error(
        "HF_HUB_OFFLINE=1 and {what} is not in the Hub cache at {}; run the same command once online without --stream to download it, or unset HF_HUB_OFFLINE",
        cache.display()
    )]
    NotCached { what: String, cache: PathBuf },

    /// The Hub answered something unexpected.
    #[error("the Hub at {endpoint} answered {what}; try again later, or report it if it persists")]
    Unexpected { endpoint: String, what: String },

    /// Config and split resolution, split slicing and reference parsing problems.
    #[error("{0}")]
    Layout(String),
}

impl HubError {
    /// Whether the user has to change something (exit code 2) rather than wait and retry (1).
    pub fn is_input_error(&self) -> bool {
        !matches!(
            self,
            HubError::RateLimited { .. } | HubError::Network { .. } | HubError::Unexpected { .. }
        )
    }
}

/// What a request was about, to name it in the error.
#[derive(Debug, Clone)]
pub(crate) struct Target<'a> {
    pub endpoint: &'a str,
    pub repo: &'a str,
    pub revision: &'a str,
    /// A file path in the repo, when the request was for a file.
    pub path: Option<&'a str>,
    pub has_token: bool,
}

/// The error for a refused Hub request, from its status and `X-Error-Code` header (the Hub's
/// own classification; the status alone cannot tell a missing repo from a gated one).
pub(crate) fn refused(status: u16, error_code: Option<&str>, t: &Target) -> HubError {
    let (endpoint, repo) = (t.endpoint.to_string(), t.repo.to_string());
    match (error_code, status) {
        (Some("GatedRepo"), 401) => HubError::GatedNeedsLogin { repo, endpoint },
        (Some("GatedRepo"), _) => HubError::GatedNoAccess { repo, endpoint },
        (Some("RevisionNotFound"), _) => HubError::RevisionNotFound {
            repo,
            revision: t.revision.to_string(),
        },
        (Some("EntryNotFound"), _) => HubError::EntryNotFound {
            repo,
            revision: t.revision.to_string(),
            path: t.path.unwrap_or("the file").to_string(),
        },
        (Some("RepoNotFound"), _) | (None, 401) => HubError::RepoNotFound {
            repo,
            endpoint,
            has_token: t.has_token,
        },
        (None, 404) if t.path.is_some() => HubError::EntryNotFound {
            repo,
            revision: t.revision.to_string(),
            path: t.path.unwrap_or_default().to_string(),
        },
        (None, 404) => HubError::RepoNotFound {
            repo,
            endpoint,
            has_token: t.has_token,
        },
        (code, status) => HubError::Unexpected {
            endpoint,
            what: match code {
                Some(code) => format!("HTTP {status} ({code})"),
                None => format!("HTTP {status}"),
            },
        },
    }
}

/// Maps an error of the `hf-hub` crate (info, tree listing, downloads) to ours.
pub(crate) fn from_hf_hub(e: hf_hub::HFError, t: &Target) -> HubError {
    use hf_hub::HFError as E;
    if let E::RateLimited { .. } = e {
        return HubError::RateLimited {
            endpoint: t.endpoint.to_string(),
            retries: super::remote::MAX_RETRIES,
        };
    }
    let context = match &e {
        E::Http { context } | E::AuthRequired { context } | E::Forbidden { context } => {
            Some(context.as_ref())
        }
        E::RepoNotFound { context, .. }
        | E::RevisionNotFound { context, .. }
        | E::EntryNotFound { context, .. } => context.as_deref(),
        _ => None,
    };
    if let Some(c) = context {
        return refused(c.status.as_u16(), c.error_code.as_deref(), t);
    }
    match e {
        E::RepoNotFound { .. } => refused(404, Some("RepoNotFound"), t),
        E::RevisionNotFound { .. } => refused(404, Some("RevisionNotFound"), t),
        E::EntryNotFound { .. } => refused(404, Some("EntryNotFound"), t),
        E::Request { source, .. } => HubError::Network {
            endpoint: t.endpoint.to_string(),
            reason: super::remote::reason(&source),
        },
        other => HubError::Unexpected {
            endpoint: t.endpoint.to_string(),
            what: other.to_string(),
        },
    }
}
