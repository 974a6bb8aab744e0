//! Splits a template into text and action tokens like Go's text/template lexer:
//! `{{`/`}}` delimiters with `{{- ` / ` -}}` whitespace trimming, comments,
//! fields, variables, identifiers, keywords, quoted/raw strings, chars and
//! numbers. Comments are dropped here.

use super::super::value::Value;

/// Control keywords.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keyword {
    If,
    Else,
    End,
    Range,
    With,
    Break,
    Continue,
    Define,
    Template,
    Block,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    Text(String),
    Left,
    Right,
    Space,
    /// `.Name` (without the dot).
    Field(String),
    Dot,
    /// `$name` or `$`.
    Var(String),
    Ident(String),
    /// A string, number, char or boolean constant.
    Lit(Value),
    Nil,
    Pipe,
    LParen,
    RParen,
    Declare,
    Assign,
    Comma,
    Kw(Keyword),
    Eof,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub tok: Tok,
    /// Byte offsets in the template.
    pub pos: usize,
    pub end: usize,
}

/// A lexing error: byte offset and message.
#[derive(Debug, Clone, PartialEq)]
pub struct LexError {
    pub pos: usize,
    pub msg: String,
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    toks: Vec<Token>,
}

/// Tokenizes the whole template.
pub fn lex(src: &str) -> Result<Vec<Token>, LexError> {
    let mut l = Lexer { src, pos: 0, toks: Vec::new() };
    l.run()?;
    Ok(l.toks)
}

impl<'a> Lexer<'a> {
    fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    fn push(&mut self, tok: Tok, pos: usize) {
        self.toks.push(Token { tok, pos, end: self.pos });
    }

    fn err<T>(&self, pos: usize, msg: impl Into<String>) -> Result<T, LexError> {
        Err(LexError { pos, msg: msg.into() })
    }

    fn run(&mut self) -> Result<(), LexError> {
        let mut trim_next = false;
        loop {
            let start = self.pos;
            let found = self.rest().find("{{");
            let text_end = found.map_or(self.src.len(), |i| start + i);
            let mut text = &self.src[start..text_end];
            if trim_next {
                text = text.trim_start_matches([' ', '\t', '\r', '\n']);
            }
            let left_trim = found.is_some() && {
                let after = &self.src.as_bytes()[text_end + 2..];
                after.len() >= 2 && after[0] == b'-' && is_space(after[1])
            };
            if left_trim {
                text = text.trim_end_matches([' ', '\t', '\r', '\n']);
            }
            if !text.is_empty() {
                let pos = text.as_ptr() as usize - self.src.as_ptr() as usize;
                self.toks.push(Token { tok: Tok::Text(text.to_string()), pos, end: pos + text.len() });
            }
            if found.is_none() {
                self.pos = self.src.len();
                self.push(Tok::Eof, self.src.len());
                return Ok(());
            }
            let delim = text_end;
            self.pos = delim + 2 + if left_trim { 2 } else { 0 };
            if self.rest().starts_with("/*") {
                trim_next = self.comment(delim)?;
                continue;
            }
            self.push(Tok::Left, delim);
            trim_next = self.action()?;
        }
    }

    /// `{{/* … */}}`; returns whether the right delimiter trims.
    fn comment(&mut self, delim: usize) -> Result<bool, LexError> {
        let Some(end) = self.rest().find("*/") else {
            return self.err(delim, "unclosed comment");
        };
        self.pos += end + 2;
        if let Some(trim) = self.at_right_delim() {
            return Ok(trim);
        }
        self.err(delim, "comment ends before closing delimiter")
    }

    /// At `}}` or ` -}}`: consumes it and returns whether it trims.
    fn at_right_delim(&mut self) -> Option<bool> {
        let r = self.rest().as_bytes();
        if r.len() >= 4 && is_space(r[0]) && r[1] == b'-' && &r[2..4] == b"}}" {
            self.pos += 4;
            return Some(true);
        }
        if r.starts_with(b"}}") {
            self.pos += 2;
            return Some(false);
        }
        None
    }

    /// Lexes inside `{{ … }}`; returns whether the right delimiter trims.
    fn action(&mut self) -> Result<bool, LexError> {
        let mut parens = 0usize;
        loop {
            let start = self.pos;
            if let Some(trim) = self.at_right_delim() {
                if parens > 0 {
                    return self.err(start, "unclosed left paren");
                }
                self.toks.push(Token { tok: Tok::Right, pos: start, end: self.pos });
                return Ok(trim);
            }
            let Some(c) = self.rest().chars().next() else {
                return self.err(start, "unclosed action");
            };
            match c {
                c if c.is_ascii() && is_space(c as u8) => {
                    let mut n = self.rest().bytes().take_while(|b| is_space(*b)).count();
                    // Leave the last space of ` -}}` to the delimiter.
                    if self.src.as_bytes()[start + n..].starts_with(b"-}}") {
                        n -= 1;
                    }
                    self.pos += n;
                    self.push(Tok::Space, start);
                }
                '=' => {
                    self.pos += 1;
                    self.push(Tok::Assign, start);
                }
                ':' => {
                    if !self.rest().starts_with(":=") {
                        return self.err(start, "expected :=");
                    }
                    self.pos += 2;
                    self.push(Tok::Declare, start);
                }
                '|' => {
                    self.pos += 1;
                    self.push(Tok::Pipe, start);
                }
                ',' => {
                    self.pos += 1;
                    self.push(Tok::Comma, start);
                }
                '(' => {
                    parens += 1;
                    self.pos += 1;
                    self.push(Tok::LParen, start);
                }
                ')' => {
                    if parens == 0 {
                        return self.err(start, "unexpected right paren");
                    }
                    parens -= 1;
                    self.pos += 1;
                    self.push(Tok::RParen, start);
                }
                '"' => {
                    let s = self.quoted()?;
                    self.push(Tok::Lit(Value::Str(s)), start);
                }
                '`' => {
                    let Some(end) = self.rest()[1..].find('`') else {
                        return self.err(start, "unterminated raw quoted string");
                    };
                    let s = self.rest()[1..1 + end].to_string();
                    self.pos += end + 2;
                    self.push(Tok::Lit(Value::Str(s)), start);
                }
                '\'' => {
                    let c = self.char_constant()?;
                    self.push(Tok::Lit(Value::Int(c as i64)), start);
                }
                '$' => {
                    self.pos += 1;
                    let name = self.word();
                    self.push(Tok::Var(format!("${name}")), start);
                }
                '.' if !self.rest()[1..].starts_with(|c: char| c.is_ascii_digit()) => {
                    self.pos += 1;
                    let name = self.word();
                    if name.is_empty() {
                        self.push(Tok::Dot, start);
                    } else {
                        self.push(Tok::Field(name), start);
                    }
                }
                '.' | '+' | '-' | '0'..='9' => {
                    let v = self.number()?;
                    self.push(Tok::Lit(v), start);
                }
                c if is_alnum(c) => {
                    let word = self.word();
                    let tok = match word.as_str() {
                        "true" => Tok::Lit(Value::Bool(true)),
                        "false" => Tok::Lit(Value::Bool(false)),
                        "nil" => Tok::Nil,
                        "if" => Tok::Kw(Keyword::If),
                        "else" => Tok::Kw(Keyword::Else),
                        "end" => Tok::Kw(Keyword::End),
                        "range" => Tok::Kw(Keyword::Range),
                        "with" => Tok::Kw(Keyword::With),
                        "break" => Tok::Kw(Keyword::Break),
                        "continue" => Tok::Kw(Keyword::Continue),
                        "define" => Tok::Kw(Keyword::Define),
                        "template" => Tok::Kw(Keyword::Template),
                        "block" => Tok::Kw(Keyword::Block),
                        _ => Tok::Ident(word),
                    };
                    self.push(tok, start);
                }
                c if c.is_ascii_graphic() => {
                    return self.err(start, format!("unexpected \"{c}\" in operand"));
                }
                c => {
                    return self.err(start, format!("unrecognized character in action: U+{:04X} '{c}'", c as u32));
                }
            }
        }
    }

    fn word(&mut self) -> String {
        let n: usize = self.rest().chars().take_while(|c| is_alnum(*c)).map(char::len_utf8).sum();
        let w = self.rest()[..n].to_string();
        self.pos += n;
        w
    }

    fn quoted(&mut self) -> Result<String, LexError> {
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            let Some(c) = self.rest().chars().next() else {
                return self.err(start, "unterminated quoted string");
            };
            self.pos += c.len_utf8();
            match c {
                '"' => return Ok(out),
                '\n' => return self.err(start, "unterminated quoted string"),
                '\\' => out.push(self.escape(start, '"')?),
                c => out.push(c),
            }
        }
    }

    fn char_constant(&mut self) -> Result<char, LexError> {
        let start = self.pos;
        self.pos += 1;
        let c = match self.rest().chars().next() {
            Some('\\') => {
                self.pos += 1;
                self.escape(start, '\'')?
            }
            Some(c) if c != '\'' && c != '\n' => {
                self.pos += c.len_utf8();
                c
            }
            _ => return self.err(start, "unterminated character constant"),
        };
        if !self.rest().starts_with('\'') {
            return self.err(start, "unterminated character constant");
        }
        self.pos += 1;
        Ok(c)
    }

    /// A Go escape after `\`.
    fn escape(&mut self, start: usize, quote: char) -> Result<char, LexError> {
        let Some(c) = self.rest().chars().next() else {
            return self.err(start, "unterminated quoted string");
        };
        self.pos += c.len_utf8();
        let hex = |l: &mut Self, n: usize| -> Result<char, LexError> {
            let digits = l.rest().get(..n).filter(|d| d.chars().all(|c| c.is_ascii_hexdigit()));
            let Some(digits) = digits else {
                return l.err(start, "invalid syntax");
            };
            let v =
                u32::from_str_radix(digits, 16).map_err(|_| LexError { pos: start, msg: "invalid syntax".into() })?;
            l.pos += n;
            char::from_u32(v).ok_or(LexError { pos: start, msg: "invalid syntax".into() })
        };
        Ok(match c {
            'a' => '\u{7}',
            'b' => '\u{8}',
            'f' => '\u{c}',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'v' => '\u{b}',
            '\\' => '\\',
            'x' => hex(self, 2)?,
            'u' => hex(self, 4)?,
            'U' => hex(self, 8)?,
            '0'..='7' => {
                let digits = self.src.get(self.pos - 1..self.pos + 2).unwrap_or("");
                let v = u32::from_str_radix(digits, 8)
                    .map_err(|_| LexError { pos: start, msg: "invalid syntax".into() })?;
                self.pos += 2;
                char::from_u32(v).ok_or(LexError { pos: start, msg: "invalid syntax".into() })?
            }
            c if c == quote => c,
            _ => return self.err(start, "invalid syntax"),
        })
    }

    fn number(&mut self) -> Result<Value, LexError> {
        let start = self.pos;
        let n: usize = self
            .rest()
            .char_indices()
            .take_while(|(i, c)| {
                c.is_ascii_alphanumeric() || *c == '_' || *c == '.' || ((*c == '+' || *c == '-') && *i == 0)
            })
            .map(|(_, c)| c.len_utf8())
            .sum();
        // An exponent sign (`1e-3`) is part of the number too.
        let mut end = start + n;
        let bytes = self.src.as_bytes();
        while end < bytes.len()
            && (bytes[end] == b'+' || bytes[end] == b'-')
            && matches!(bytes[end - 1], b'e' | b'E')
            && !self.src[start..end].starts_with("0x")
        {
            end += 1;
            while end < bytes.len() && (bytes[end].is_ascii_digit() || bytes[end] == b'_') {
                end += 1;
            }
        }
        let text = &self.src[start..end];
        self.pos = end;
        parse_number(text).ok_or_else(|| LexError { pos: start, msg: format!("bad number syntax: {:?}", text) })
    }
}

/// Go's number constants: ints (with 0x/0o/0b prefixes and `_`) and floats.
fn parse_number(text: &str) -> Option<Value> {
    let clean: String = text.chars().filter(|c| *c != '_').collect();
    let (neg, body) = match clean.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, clean.strip_prefix('+').unwrap_or(&clean)),
    };
    let lower = body.to_ascii_lowercase();
    let radix = [("0x", 16), ("0o", 8), ("0b", 2)].into_iter().find(|(p, _)| lower.starts_with(p));
    if let Some((prefix, radix)) = radix {
        let v = i64::from_str_radix(&lower[prefix.len()..], radix).ok()?;
        return Some(Value::Int(if neg { -v } else { v }));
    }
    if body.is_empty() || !body.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
        return None;
    }
    if body.bytes().all(|b| b.is_ascii_digit()) {
        if body.len() > 1 && body.starts_with('0') {
            let v = i64::from_str_radix(body, 8).ok()?;
            return Some(Value::Int(if neg { -v } else { v }));
        }
        return match body.parse::<i64>() {
            Ok(v) => Some(Value::Int(if neg { -v } else { v })),
            Err(_) if !neg => body.parse::<u64>().ok().map(Value::Uint),
            Err(_) => None,
        };
    }
    let f: f64 = body.parse().ok()?;
    Some(Value::Float(if neg { -f } else { f }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        lex(s).expect("lexes").into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn text_actions_and_trim() {
        assert_eq!(
            toks("a {{- .X -}} b"),
            vec![Tok::Text("a".into()), Tok::Left, Tok::Field("X".into()), Tok::Right, Tok::Text("b".into()), Tok::Eof]
        );
        assert_eq!(toks("x{{/* c */}}y"), vec![Tok::Text("x".into()), Tok::Text("y".into()), Tok::Eof]);
        assert_eq!(toks("{{-3}}"), vec![Tok::Left, Tok::Lit(Value::Int(-3)), Tok::Right, Tok::Eof]);
    }

    #[test]
    fn operands() {
        assert_eq!(
            toks(r#"{{$x := index .A "k\t" 1.5 'a' true nil | len}}"#),
            vec![
                Tok::Left,
                Tok::Var("$x".into()),
                Tok::Space,
                Tok::Declare,
                Tok::Space,
                Tok::Ident("index".into()),
                Tok::Space,
                Tok::Field("A".into()),
                Tok::Space,
                Tok::Lit(Value::Str("k\t".into())),
                Tok::Space,
                Tok::Lit(Value::Float(1.5)),
                Tok::Space,
                Tok::Lit(Value::Int(97)),
                Tok::Space,
                Tok::Lit(Value::Bool(true)),
                Tok::Space,
                Tok::Nil,
                Tok::Space,
                Tok::Pipe,
                Tok::Space,
                Tok::Ident("len".into()),
                Tok::Right,
                Tok::Eof
            ]
        );
        assert_eq!(toks("{{1e-3 0x1F}}")[1..4], [Tok::Lit(Value::Float(0.001)), Tok::Space, Tok::Lit(Value::Int(31))]);
    }

    #[test]
    fn errors() {
        assert_eq!(lex("{{.A").expect_err("unclosed").msg, "unclosed action");
        assert_eq!(lex("{{\"abc}}").expect_err("unterminated").msg, "unterminated quoted string");
        assert_eq!(lex("{{/* x }}").expect_err("comment").msg, "unclosed comment");
        assert_eq!(lex("{{)}}").expect_err("paren").msg, "unexpected right paren");
        assert!(lex("{{3x}}").is_err());
    }
}
