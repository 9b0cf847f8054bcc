//! Reftest manifests in the Firefox / wrench `reftest.list` format:
//!
//! ```text
//! # a comment
//! == test.html ref.html              # must render identically
//! != a.html b.html                   # must render differently
//! fuzzy(2,40) == aa.html aa-ref.html # at most 2 per channel, at most 40 pixels differ
//! fuzzy(1-3,10-200) == …             # ranges: the difference must fall inside both
//! skip == broken.html ref.html       # listed, not run
//! fails == known-bug.html ref.html   # expected to fail (an unexpected pass is reported)
//! include borders/reftest.list
//! ```
//!
//! Paths are relative to the manifest that names them.

use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};

/// A manifest that cannot be used, named by file and line.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The file cannot be read.
    #[error("cannot read reftest manifest '{}': {source}", path.display())]
    Unreadable {
        /// The manifest.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A line does not parse.
    #[error("{}:{line}: {message}", path.display())]
    Syntax {
        /// The manifest.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong and what is expected.
        message: String,
    },
    /// Manifests include each other in a cycle.
    #[error("{}:{line}: including '{}' makes a cycle of manifests", path.display(), included.display())]
    IncludeCycle {
        /// The including manifest.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The manifest included again.
        included: PathBuf,
    },
}

/// How a test's rendering must relate to its reference's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Relation {
    /// `==`: the same pixels (within any fuzz).
    Equal,
    /// `!=`: different pixels.
    NotEqual,
}

/// Allowed differences: the largest per-channel difference and the number of differing
/// pixels must each fall in their range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fuzz {
    /// Largest difference in any channel of any pixel.
    pub max_difference: RangeInclusive<u8>,
    /// Pixels that differ at all.
    pub differing_pixels: RangeInclusive<u64>,
}

impl Default for Fuzz {
    fn default() -> Fuzz {
        Fuzz { max_difference: 0..=0, differing_pixels: 0..=0 }
    }
}

/// What is expected of a test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expectation {
    /// It passes.
    Pass,
    /// It is known to fail.
    Fail,
    /// It is not run.
    Skip,
}

/// One line of a manifest: a test, its reference, and how they must compare.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reftest {
    /// The test page.
    pub test: PathBuf,
    /// The reference page.
    pub reference: PathBuf,
    /// `==` or `!=`.
    pub relation: Relation,
    /// Allowed differences for `==`.
    pub fuzz: Fuzz,
    /// Pass, known failure, or skip.
    pub expectation: Expectation,
    /// Where it was listed: manifest and line, for messages.
    pub source: (PathBuf, usize),
}

/// Reads a manifest and everything it includes, in order.
pub fn load(path: &Path) -> Result<Vec<Reftest>, ManifestError> {
    let mut tests = Vec::new();
    let mut stack = Vec::new();
    load_into(path, &mut stack, &mut tests)?;
    Ok(tests)
}

fn load_into(path: &Path, stack: &mut Vec<PathBuf>, tests: &mut Vec<Reftest>) -> Result<(), ManifestError> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| ManifestError::Unreadable { path: path.to_owned(), source })?;
    let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    stack.push(canonical);
    let directory = path.parent().unwrap_or(Path::new("."));
    for (index, raw_line) in text.lines().enumerate() {
        let line = index + 1;
        let syntax = |message: String| ManifestError::Syntax { path: path.to_owned(), line, message };
        let content = raw_line.split('#').next().unwrap_or("");
        let tokens: Vec<&str> = content.split_whitespace().collect();
        let Some(&first) = tokens.first() else { continue };
        if first == "include" {
            let [_, included] = tokens[..] else {
                return Err(syntax("`include` takes one manifest path".into()));
            };
            let included = directory.join(included);
            let canonical = std::fs::canonicalize(&included).unwrap_or_else(|_| included.clone());
            if stack.contains(&canonical) {
                return Err(ManifestError::IncludeCycle { path: path.to_owned(), line, included });
            }
            load_into(&included, stack, tests)?;
            continue;
        }
        let mut fuzz = Fuzz::default();
        let mut expectation = Expectation::Pass;
        let mut rest = &tokens[..];
        while let Some((&token, tail)) = rest.split_first() {
            if token == "==" || token == "!=" {
                break;
            }
            if token == "skip" {
                expectation = Expectation::Skip;
            } else if token == "fails" {
                if expectation != Expectation::Skip {
                    expectation = Expectation::Fail;
                }
            } else if let Some(arguments) = token.strip_prefix("fuzzy(").and_then(|t| t.strip_suffix(')')) {
                fuzz = parse_fuzz(arguments).map_err(syntax)?;
            } else {
                return Err(syntax(format!(
                    "unknown word '{token}': expected `==`, `!=`, `include`, or a modifier \
                     (`fuzzy(maxDiff,maxCount)`, `skip`, `fails`)"
                )));
            }
            rest = tail;
        }
        let [relation, test, reference] = rest[..] else {
            return Err(syntax("expected `== test.html ref.html` or `!= test.html ref.html`".into()));
        };
        let relation = if relation == "==" { Relation::Equal } else { Relation::NotEqual };
        tests.push(Reftest {
            test: directory.join(test),
            reference: directory.join(reference),
            relation,
            fuzz,
            expectation,
            source: (path.to_owned(), line),
        });
    }
    stack.pop();
    Ok(())
}

/// `maxDiff,maxCount`, each `N` (meaning `0-N`) or `min-max`.
fn parse_fuzz(arguments: &str) -> Result<Fuzz, String> {
    let (difference, count) = arguments
        .split_once(',')
        .ok_or_else(|| format!("fuzzy({arguments}) needs two arguments: maxDiff,maxCount"))?;
    let range = |text: &str| -> Result<(u64, u64), String> {
        let number = |n: &str| {
            n.trim().parse::<u64>().map_err(|_| format!("'{n}' in fuzzy({arguments}) is not a whole number"))
        };
        let (low, high) = match text.split_once('-') {
            Some((low, high)) => (number(low)?, number(high)?),
            None => (0, number(text)?),
        };
        if low > high {
            return Err(format!("the range {low}-{high} in fuzzy({arguments}) is empty"));
        }
        Ok((low, high))
    };
    let (low, high) = range(difference)?;
    if high > 255 {
        return Err(format!("fuzzy({arguments}): a channel differs by at most 255"));
    }
    let (count_low, count_high) = range(count)?;
    Ok(Fuzz { max_difference: low as u8..=high as u8, differing_pixels: count_low..=count_high })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(directory: &Path, name: &str, text: &str) -> PathBuf {
        let path = directory.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("directory");
        }
        std::fs::write(&path, text).expect("write");
        path
    }

    #[test]
    fn every_form_of_line() {
        let directory = tempfile::tempdir().expect("temp dir");
        let root = directory.path();
        write(root, "sub/reftest.list", "!= a.html b.html\n");
        let manifest = write(
            root,
            "reftest.list",
            "# comment\n\n== t.html r.html  # trailing\nfuzzy(2,40) == f.html g.html\n\
             fuzzy(1-3,10-200) skip == s.html r.html\nfails == x.html y.html\ninclude sub/reftest.list\n",
        );
        let tests = load(&manifest).expect("parses");
        assert_eq!(tests.len(), 5);
        assert_eq!(tests[0].test, root.join("t.html"));
        assert_eq!(tests[0].relation, Relation::Equal);
        assert_eq!(tests[0].fuzz, Fuzz::default());
        assert_eq!(tests[1].fuzz, Fuzz { max_difference: 0..=2, differing_pixels: 0..=40 });
        assert_eq!(tests[2].fuzz, Fuzz { max_difference: 1..=3, differing_pixels: 10..=200 });
        assert_eq!(tests[2].expectation, Expectation::Skip);
        assert_eq!(tests[3].expectation, Expectation::Fail);
        assert_eq!(tests[4].relation, Relation::NotEqual);
        assert_eq!(tests[4].reference, root.join("sub").join("b.html"));
        assert_eq!(tests[4].source.1, 1);
    }

    #[test]
    fn bad_lines_are_named_by_file_and_line() {
        let directory = tempfile::tempdir().expect("temp dir");
        let cases = [
            ("== only-one.html\n", "expected `== test.html ref.html`"),
            ("random(1) == a b\n", "unknown word 'random(1)'"),
            ("fuzzy(3) == a b\n", "needs two arguments"),
            ("fuzzy(300,1) == a b\n", "at most 255"),
            ("fuzzy(5-2,1) == a b\n", "is empty"),
            ("include\n", "`include` takes one manifest path"),
        ];
        for (text, expected) in cases {
            let manifest = write(directory.path(), "bad.list", &format!("# first\n{text}"));
            let error = load(&manifest).expect_err(text).to_string();
            assert!(error.contains("bad.list:2: "), "{error}");
            assert!(error.contains(expected), "{text}: {error}");
        }
        let missing = load(&directory.path().join("none.list")).expect_err("missing").to_string();
        assert!(missing.contains("cannot read reftest manifest"), "{missing}");
    }

    #[test]
    fn include_cycles_are_refused() {
        let directory = tempfile::tempdir().expect("temp dir");
        write(directory.path(), "b.list", "include a.list\n");
        let a = write(directory.path(), "a.list", "include b.list\n");
        let error = load(&a).expect_err("cycle").to_string();
        assert!(error.contains("makes a cycle"), "{error}");
    }
}
