//! The docs stay true to the binary: every option `--help` lists is in the CLI reference,
//! and every sample page has its gallery thumbnail in the README.

use std::path::Path;

use armature_tests::{armature, page};

fn repository() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// The long options (`--name`) a help text lists.
fn long_options(help: &str) -> Vec<String> {
    help.split_whitespace()
        .filter_map(|word| word.strip_prefix("--"))
        .map(|rest| rest.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-')).next().unwrap_or_default())
        .filter(|name| !name.is_empty())
        .map(|name| format!("--{name}"))
        .collect()
}

#[test]
fn the_cli_reference_documents_every_option() {
    let reference = std::fs::read_to_string(repository().join("docs/cli.md")).expect("docs/cli.md");
    let mut commands = vec![vec!["--help"], vec!["reftest", "--help"]];
    if armature_tests::has_feature("crash") {
        commands.push(vec!["crashes", "--help"]);
    }
    if armature_tests::has_feature("capture") {
        commands.push(vec!["replay", "--help"]);
    }
    for args in commands {
        let output = armature().args(&args).output().expect("armature runs");
        assert!(output.status.success(), "armature {args:?}");
        let help = String::from_utf8_lossy(&output.stdout);
        for option in long_options(&help) {
            if option == "--help" || option == "--version" {
                continue;
            }
            assert!(
                reference.contains(&format!("`{option}")),
                "docs/cli.md does not document {option} (armature {args:?})"
            );
        }
    }
}

#[test]
fn every_sample_page_is_in_the_gallery() {
    let readme = std::fs::read_to_string(repository().join("README.md")).expect("README.md");
    for entry in std::fs::read_dir(page("")).expect("tests/pages").flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|extension| extension != "html") {
            continue;
        }
        let name = path.file_stem().expect("a name").to_string_lossy().into_owned();
        let thumbnail = repository().join(format!("docs/gallery/{name}.png"));
        let image = image::open(&thumbnail).unwrap_or_else(|error| {
            panic!(
                "{} is missing or broken ({error}): run `cargo run -p armature-tests --example gallery`",
                thumbnail.display()
            )
        });
        assert_eq!((image.width(), image.height()), (320, 240), "{}", thumbnail.display());
        assert!(readme.contains(&format!("docs/gallery/{name}.png")), "the README's gallery lacks {name}");
    }
}
