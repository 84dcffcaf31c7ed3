//! `Range: bytes=…` parsing as both emulated hosts apply it (single ranges only, like S3).

/// What a `Range` header asks of a body of `size` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RangeAnswer {
    /// No usable range: answer `200` with the whole body.
    Full,
    /// `206` with bytes `start..=end`.
    Partial { start: u64, end: u64 },
    /// `416` with `Content-Range: bytes */size`.
    Unsatisfiable,
}

/// Interprets `header` for a body of `size` bytes. Headers that are not one well-formed
/// `bytes=` range (several ranges, other units, `a-b` with `b < a`) are ignored, as RFC 9110
/// allows, and get the full body.
pub(crate) fn interpret(header: Option<&str>, size: u64) -> RangeAnswer {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return RangeAnswer::Full;
    };
    if spec.contains(',') {
        return RangeAnswer::Full;
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return RangeAnswer::Full;
    };
    let (a, b) = (a.trim(), b.trim());
    if a.is_empty() {
        // Suffix range: the last n bytes.
        let Ok(n) = b.parse::<u64>() else {
            return RangeAnswer::Full;
        };
        if n == 0 || size == 0 {
            return RangeAnswer::Unsatisfiable;
        }
        return RangeAnswer::Partial {
            start: size.saturating_sub(n),
            end: size - 1,
        };
    }
    let Ok(start) = a.parse::<u64>() else {
        return RangeAnswer::Full;
    };
    let end = if b.is_empty() {
        u64::MAX
    } else {
        match b.parse::<u64>() {
            Ok(e) if e >= start => e,
            _ => return RangeAnswer::Full,
        }
    };
    if start >= size {
        return RangeAnswer::Unsatisfiable;
    }
    RangeAnswer::Partial {
        start,
        end: end.min(size - 1),
    }
}

#[cfg(test)]
mod tests {
    use super::{RangeAnswer::*, interpret};

    #[test]
    fn hub_range_forms() {
        assert_eq!(interpret(None, 10), Full);
        assert_eq!(
            interpret(Some("bytes=2-4"), 10),
            Partial { start: 2, end: 4 }
        );
        assert_eq!(
            interpret(Some("bytes=7-"), 10),
            Partial { start: 7, end: 9 }
        );
        assert_eq!(
            interpret(Some("bytes=5-99"), 10),
            Partial { start: 5, end: 9 }
        );
        assert_eq!(
            interpret(Some("bytes=-3"), 10),
            Partial { start: 7, end: 9 }
        );
        assert_eq!(
            interpret(Some("bytes=-30"), 10),
            Partial { start: 0, end: 9 }
        );
        assert_eq!(interpret(Some("bytes=10-"), 10), Unsatisfiable);
        assert_eq!(interpret(Some("bytes=-0"), 10), Unsatisfiable);
        assert_eq!(interpret(Some("bytes=0-"), 0), Unsatisfiable);
        assert_eq!(interpret(Some("bytes=4-2"), 10), Full);
        assert_eq!(interpret(Some("bytes=0-1,4-5"), 10), Full);
        assert_eq!(interpret(Some("items=0-1"), 10), Full);
    }
}
