//! Style sheets: rules (selector list + declarations) parsed from `<style>` text, the UA
//! sheet, and `style=""` attributes. Error recovery follows CSS: a bad rule or declaration
//! is dropped (with a debug log) and parsing goes on.

use cssparser::{Delimiter, Parser, Token};

use super::selector::Selectors;

/// One `name: value` declaration.
#[derive(Clone, Debug, PartialEq)]
pub struct Declaration {
    /// Property name, lowercase.
    pub name: String,
    /// The value's source text, `!important` removed.
    pub value: String,
    /// Whether it was `!important`.
    pub important: bool,
}

/// A style rule.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    /// Its selectors.
    pub selectors: Selectors,
    /// Its declarations in source order.
    pub declarations: Vec<Declaration>,
}

/// A parsed style sheet.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stylesheet {
    /// Rules in source order.
    pub rules: Vec<Rule>,
}

impl Stylesheet {
    /// Parses a sheet; never fails (invalid parts are dropped).
    pub fn parse(text: &str) -> Stylesheet {
        let mut parser = Parser::new(text);
        let mut rules = Vec::new();
        while !parser.is_exhausted() {
            let start = parser.position();
            match parser.next() {
                Err(_) => break,
                // At-rules (@media, @import, …) are not supported yet: skip them whole.
                Ok(Token::AtKeyword(name)) => {
                    tracing::debug!(target: "armature::style", "ignored @{name} rule");
                    skip_at_rule(&mut parser);
                    continue;
                }
                Ok(Token::CDO | Token::CDC) => continue,
                Ok(_) => {}
            }
            // The prelude is everything up to the `{`.
            let prelude_result: Result<(), cssparser::ParseError<()>> =
                parser.parse_until_before(Delimiter::CurlyBracketBlock, |prelude| {
                    while prelude.next().is_ok() {}
                    Ok(())
                });
            let prelude = parser.slice_from(start).to_owned();
            if prelude_result.is_err() || !matches!(parser.next(), Ok(Token::CurlyBracketBlock)) {
                tracing::debug!(target: "armature::style", "dropped rule with no block: '{}'", prelude.trim());
                break;
            }
            let body: Result<String, cssparser::ParseError<()>> = parser.parse_nested_block(|block| {
                let start = block.position();
                while block.next().is_ok() {}
                Ok(block.slice_from(start).to_owned())
            });
            let Ok(body) = body else { continue };
            match Selectors::parse(prelude.trim()) {
                Ok(selectors) => rules.push(Rule { selectors, declarations: parse_declarations(&body) }),
                Err(error) => {
                    tracing::debug!(target: "armature::style", "dropped rule '{}': {error}", prelude.trim())
                }
            }
        }
        Stylesheet { rules }
    }
}

fn skip_at_rule(parser: &mut Parser<'_>) {
    while let Ok(token) = parser.next() {
        match token {
            Token::Semicolon => return,
            Token::CurlyBracketBlock => {
                // Consume the block now, so the next rule's source position starts after it.
                let _: Result<(), cssparser::ParseError<()>> = parser.parse_nested_block(|block| {
                    while block.next().is_ok() {}
                    Ok(())
                });
                return;
            }
            _ => {}
        }
    }
}

/// Parses a declaration block's contents (also a `style` attribute's text).
pub fn parse_declarations(text: &str) -> Vec<Declaration> {
    let mut parser = Parser::new(text);
    let mut declarations = Vec::new();
    while !parser.is_exhausted() {
        let result: Result<Option<Declaration>, cssparser::ParseError<()>> =
            parser.parse_until_after(Delimiter::Semicolon, |declaration| {
                let name = match declaration.next() {
                    Ok(Token::Ident(name)) => name.to_ascii_lowercase(),
                    _ => return Ok(None),
                };
                if declaration.expect_colon().is_err() {
                    return Ok(None);
                }
                let start = declaration.position();
                while declaration.next().is_ok() {}
                let raw = declaration.slice_from(start).trim().trim_end_matches(';').trim();
                let (value, important) = split_important(raw);
                Ok((!value.is_empty()).then(|| Declaration { name, value: value.to_owned(), important }))
            });
        match result {
            Ok(Some(declaration)) => declarations.push(declaration),
            _ => tracing::debug!(target: "armature::style", "dropped a declaration in '{text}'"),
        }
    }
    declarations
}

/// Splits a trailing `!important` (any case, spaces allowed after `!`) off a value.
fn split_important(raw: &str) -> (&str, bool) {
    if let Some(bang) = raw.rfind('!') {
        let flag = raw[bang + 1..].trim();
        if flag.eq_ignore_ascii_case("important") {
            return (raw[..bang].trim(), true);
        }
    }
    (raw, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_and_declarations_parse_with_recovery() {
        let sheet = Stylesheet::parse(
            "@import url(x.css); h1, .a { color: red; margin : 0 !important }\n\
             p:frobnicate { color: blue }  /* dropped: unknown pseudo-class */\n\
             @media print { p { color: green } }\n\
             div { width: 10px; ; bogus; height: 20px } <!-- -->",
        );
        assert_eq!(sheet.rules.len(), 2, "{sheet:#?}");
        let first = &sheet.rules[0];
        assert_eq!(first.selectors.len(), 2);
        assert_eq!(
            first.declarations,
            vec![
                Declaration { name: "color".into(), value: "red".into(), important: false },
                Declaration { name: "margin".into(), value: "0".into(), important: true },
            ]
        );
        let names: Vec<_> = sheet.rules[1].declarations.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["width", "height"]);
    }

    #[test]
    fn unterminated_input_never_hangs_or_panics() {
        for text in
            ["h1 {", "h1 { color: red", "{}", "}}}", "h1 color: red }", "@media {", "a { b: c", "\u{0}{"]
        {
            let _ = Stylesheet::parse(text);
        }
        assert!(parse_declarations("color: red ! IMPORTANT")[0].important);
    }
}
