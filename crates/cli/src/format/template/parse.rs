//! Builds the parse tree from tokens with Go text/template's grammar: text,
//! actions (pipelines of commands, `$var :=`/`=` declarations, parenthesized
//! pipelines, field chains), `if`/`else if`/`range`/`with`/`else with`,
//! `break`/`continue`; Go's parse-time checks (undefined functions and
//! variables, misplaced `{{end}}`/`{{else}}`, empty commands).

use super::super::value::Value;
use super::funcs;
use super::lex::{Keyword, Tok, Token};

#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Text(String),
    Action(Pipe),
    If(Branch),
    Range(Branch),
    With(Branch),
    Break,
    Continue,
}

/// `if`, `range` and `with`: the pipeline, the body and the `else` part.
#[derive(Debug, Clone, PartialEq)]
pub struct Branch {
    pub pipe: Pipe,
    pub list: Vec<Node>,
    pub else_list: Option<Vec<Node>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Pipe {
    pub decl: Vec<String>,
    pub is_assign: bool,
    pub cmds: Vec<Cmd>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Cmd {
    pub args: Vec<Arg>,
    /// Byte offset of the command and its source span, for errors.
    pub pos: usize,
    pub span: (usize, usize),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Arg {
    pub kind: ArgKind,
    /// Where Go reports errors for this node (for field chains: the second
    /// element, as Go's parser records it).
    pub pos: usize,
    pub span: (usize, usize),
}

#[derive(Debug, Clone, PartialEq)]
pub enum ArgKind {
    /// `.A.B`
    Field(Vec<String>),
    /// `$x.A.B`
    Var(String, Vec<String>),
    Dot,
    Nil,
    /// A function name.
    Ident(String),
    Lit(Value),
    /// `(pipeline)`
    Pipe(Box<Pipe>),
    /// `(pipeline).A.B`
    Chain(Box<Arg>, Vec<String>),
}

/// A parse error: byte offset and Go's message.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    pub pos: usize,
    pub msg: String,
}

type PResult<T> = Result<T, ParseError>;

enum Stop {
    Eof,
    End,
    Else,
}

struct Parser<'a> {
    toks: &'a [Token],
    i: usize,
    vars: Vec<String>,
    range_depth: usize,
}

/// Parses the token stream into the template's top-level list.
pub fn parse(toks: &[Token]) -> PResult<Vec<Node>> {
    let mut p = Parser { toks, i: 0, vars: vec!["$".to_string()], range_depth: 0 };
    let (list, stop) = p.list()?;
    match stop {
        Stop::Eof => Ok(list),
        Stop::End => Err(p.error_prev("unexpected {{end}}")),
        Stop::Else => Err(p.error_prev("unexpected {{else}}")),
    }
}

fn describe(tok: &Tok) -> String {
    match tok {
        Tok::Text(_) => "text".into(),
        Tok::Left => "\"{{\"".into(),
        Tok::Right => "\"}}\"".into(),
        Tok::Space => "space".into(),
        Tok::Field(f) => format!("<.{f}>"),
        Tok::Dot => "<.>".into(),
        Tok::Var(v) => format!("<{v}>"),
        Tok::Ident(i) => format!("<{i}>"),
        Tok::Lit(Value::Str(s)) => format!("{s:?}"),
        Tok::Lit(v) => format!("<{}>", v.to_go_string()),
        Tok::Nil => "<nil>".into(),
        Tok::Pipe => "\"|\"".into(),
        Tok::LParen => "\"(\"".into(),
        Tok::RParen => "\")\"".into(),
        Tok::Declare => "\":=\"".into(),
        Tok::Assign => "\"=\"".into(),
        Tok::Comma => "\",\"".into(),
        Tok::Kw(k) => format!("<{}>", format!("{k:?}").to_lowercase()),
        Tok::Eof => "EOF".into(),
    }
}

impl<'a> Parser<'a> {
    fn peek(&self) -> &'a Token {
        &self.toks[self.i.min(self.toks.len() - 1)]
    }

    fn next(&mut self) -> &'a Token {
        let t = self.peek();
        if self.i < self.toks.len() {
            self.i += 1;
        }
        t
    }

    fn skip_space(&mut self) {
        while self.peek().tok == Tok::Space {
            self.i += 1;
        }
    }

    fn next_non_space(&mut self) -> &'a Token {
        self.skip_space();
        self.next()
    }

    fn peek_non_space(&mut self) -> &'a Token {
        self.skip_space();
        self.peek()
    }

    fn error_at(&self, pos: usize, msg: impl Into<String>) -> ParseError {
        ParseError { pos, msg: msg.into() }
    }

    fn error_prev(&self, msg: impl Into<String>) -> ParseError {
        let pos = self.toks[self.i.saturating_sub(1).min(self.toks.len() - 1)].pos;
        self.error_at(pos, msg)
    }

    fn unexpected(&self, tok: &Token, context: &str) -> ParseError {
        self.error_at(tok.pos, format!("unexpected {} in {context}", describe(&tok.tok)))
    }

    /// Nodes up to `{{end}}`, `{{else}}` or the end of input (the terminating
    /// keyword is consumed, not its `}}`).
    fn list(&mut self) -> PResult<(Vec<Node>, Stop)> {
        let mut nodes = Vec::new();
        loop {
            let tok = self.next();
            match &tok.tok {
                Tok::Eof => return Ok((nodes, Stop::Eof)),
                Tok::Text(t) => nodes.push(Node::Text(t.clone())),
                Tok::Left => {
                    let kw = self.peek_non_space();
                    match &kw.tok {
                        Tok::Kw(Keyword::End) => {
                            self.next();
                            return Ok((nodes, Stop::End));
                        }
                        Tok::Kw(Keyword::Else) => {
                            self.next();
                            return Ok((nodes, Stop::Else));
                        }
                        _ => nodes.push(self.action()?),
                    }
                }
                _ => return Err(self.unexpected(tok, "input")),
            }
        }
    }

    fn expect_right(&mut self, context: &str) -> PResult<()> {
        let tok = self.next_non_space();
        if tok.tok == Tok::Right { Ok(()) } else { Err(self.unexpected(tok, context)) }
    }

    /// After `{{`: a control structure or a pipeline to print.
    fn action(&mut self) -> PResult<Node> {
        let tok = self.peek_non_space();
        match tok.tok {
            Tok::Kw(Keyword::If) => {
                self.next();
                Ok(Node::If(self.branch("if", Keyword::If)?))
            }
            Tok::Kw(Keyword::Range) => {
                self.next();
                self.range_depth += 1;
                let b = self.branch("range", Keyword::Range);
                self.range_depth -= 1;
                Ok(Node::Range(b?))
            }
            Tok::Kw(Keyword::With) => {
                self.next();
                Ok(Node::With(self.branch("with", Keyword::With)?))
            }
            Tok::Kw(Keyword::Break) | Tok::Kw(Keyword::Continue) => {
                self.next();
                let is_break = tok.tok == Tok::Kw(Keyword::Break);
                let name = if is_break { "break" } else { "continue" };
                if self.range_depth == 0 {
                    return Err(self.error_at(tok.pos, format!("{{{{{name}}}}} outside {{{{range}}}}")));
                }
                self.expect_right(name)?;
                Ok(if is_break { Node::Break } else { Node::Continue })
            }
            Tok::Kw(Keyword::Define) | Tok::Kw(Keyword::Template) | Tok::Kw(Keyword::Block) => {
                Err(self.error_at(tok.pos, "{{define}}, {{template}} and {{block}} are not supported"))
            }
            _ => Ok(Node::Action(self.pipeline("command", false)?)),
        }
    }

    /// The rest of an `if`/`range`/`with` after its keyword, through `{{end}}`.
    fn branch(&mut self, context: &str, kw: Keyword) -> PResult<Branch> {
        let mark = self.vars.len();
        let result = self.branch_inner(context, kw);
        self.vars.truncate(mark);
        result
    }

    fn branch_inner(&mut self, context: &str, kw: Keyword) -> PResult<Branch> {
        let pipe = self.pipeline(context, kw == Keyword::Range)?;
        let (list, stop) = self.list()?;
        let else_list = match stop {
            Stop::Eof => return Err(self.error_prev("unexpected EOF")),
            Stop::End => {
                self.expect_right("end")?;
                None
            }
            Stop::Else => {
                let next = self.peek_non_space();
                let chained = match (kw, &next.tok) {
                    (Keyword::If, Tok::Kw(Keyword::If)) => Some(Keyword::If),
                    (Keyword::With, Tok::Kw(Keyword::With)) => Some(Keyword::With),
                    _ => None,
                };
                if let Some(k) = chained {
                    // `{{else if …}}` is an `if` inside the else part sharing its `{{end}}`.
                    self.next();
                    let inner = self.branch(context, k)?;
                    Some(vec![if k == Keyword::If { Node::If(inner) } else { Node::With(inner) }])
                } else {
                    self.expect_right("else")?;
                    let (list, stop) = self.list()?;
                    match stop {
                        Stop::End => self.expect_right("end")?,
                        Stop::Else => return Err(self.error_prev("expected end; found {{else}}")),
                        Stop::Eof => return Err(self.error_prev("unexpected EOF")),
                    }
                    Some(list)
                }
            }
        };
        Ok(Branch { pipe, list, else_list })
    }

    /// A pipeline up to `}}` (or `)` inside parentheses when `context` is
    /// "parenthesized pipeline").
    fn pipeline(&mut self, context: &str, is_range: bool) -> PResult<Pipe> {
        let mut pipe = Pipe { decl: Vec::new(), is_assign: false, cmds: Vec::new() };
        let start = self.i;
        let first = self.peek_non_space();
        if let Tok::Var(name) = &first.tok {
            self.next();
            let after = self.peek_non_space();
            match after.tok {
                Tok::Declare | Tok::Assign => {
                    pipe.is_assign = after.tok == Tok::Assign;
                    self.next();
                    pipe.decl.push(name.clone());
                }
                Tok::Comma if is_range => {
                    self.next();
                    let second = self.next_non_space();
                    let Tok::Var(name2) = &second.tok else {
                        return Err(self.error_at(second.pos, "range can only initialize variables"));
                    };
                    let op = self.next_non_space();
                    if op.tok != Tok::Declare && op.tok != Tok::Assign {
                        return Err(self.unexpected(op, "range"));
                    }
                    pipe.is_assign = op.tok == Tok::Assign;
                    pipe.decl.push(name.clone());
                    pipe.decl.push(name2.clone());
                }
                Tok::Comma => return Err(self.error_at(after.pos, format!("too many declarations in {context}"))),
                _ => self.i = start,
            }
            if pipe.is_assign {
                for v in &pipe.decl {
                    self.use_var(v, first.pos)?;
                }
            }
        }
        let end = if context == "parenthesized pipeline" { Tok::RParen } else { Tok::Right };
        loop {
            let tok = self.peek_non_space();
            if tok.tok == end {
                self.next();
                break;
            }
            if matches!(tok.tok, Tok::Right | Tok::RParen | Tok::Eof) {
                return Err(self.unexpected(tok, context));
            }
            pipe.cmds.push(self.command(&end)?);
        }
        if pipe.cmds.is_empty() {
            return Err(self.error_prev(format!("missing value for {context}")));
        }
        for (i, cmd) in pipe.cmds.iter().enumerate().skip(1) {
            if matches!(cmd.args[0].kind, ArgKind::Lit(_) | ArgKind::Dot | ArgKind::Nil) {
                return Err(self.error_at(cmd.pos, format!("non executable command in pipeline stage {}", i + 1)));
            }
        }
        if !pipe.is_assign {
            self.vars.extend(pipe.decl.iter().cloned());
        }
        Ok(pipe)
    }

    fn use_var(&self, name: &str, pos: usize) -> PResult<()> {
        if self.vars.iter().any(|v| v == name) {
            Ok(())
        } else {
            Err(self.error_at(pos, format!("undefined variable \"{name}\"")))
        }
    }

    fn command(&mut self, end: &Tok) -> PResult<Cmd> {
        let pos = self.peek_non_space().pos;
        let mut args = Vec::new();
        loop {
            self.skip_space();
            if let Some(arg) = self.operand()? {
                args.push(arg);
            }
            let tok = self.peek();
            match &tok.tok {
                Tok::Space => continue,
                t if t == end => break,
                Tok::Pipe => {
                    self.next();
                    break;
                }
                _ => return Err(self.unexpected(tok, "operand")),
            }
        }
        if args.is_empty() {
            return Err(self.error_at(pos, "empty command"));
        }
        let end_pos = args.last().map_or(pos, |a| a.span.1);
        Ok(Cmd { args, pos, span: (pos, end_pos) })
    }

    /// A term and any field chain directly after it.
    fn operand(&mut self) -> PResult<Option<Arg>> {
        let Some(mut arg) = self.term()? else {
            return Ok(None);
        };
        if let Tok::Field(_) = self.peek().tok {
            let chain_pos = self.peek().pos;
            let mut names = Vec::new();
            while let Tok::Field(name) = &self.peek().tok {
                names.push(name.clone());
                self.next();
            }
            let span = (arg.span.0, self.toks[self.i - 1].end);
            arg = match arg.kind {
                ArgKind::Field(mut base) => {
                    base.extend(names);
                    Arg { kind: ArgKind::Field(base), pos: chain_pos, span }
                }
                ArgKind::Var(v, mut base) => {
                    base.extend(names);
                    Arg { kind: ArgKind::Var(v, base), pos: chain_pos, span }
                }
                ArgKind::Pipe(_) => Arg { kind: ArgKind::Chain(Box::new(arg), names), pos: chain_pos, span },
                _ => {
                    let text = describe(&self.toks[self.i - names.len() - 1].tok);
                    return Err(self.error_at(chain_pos, format!("unexpected . after term {text}")));
                }
            };
        }
        Ok(Some(arg))
    }

    fn term(&mut self) -> PResult<Option<Arg>> {
        let tok = self.peek();
        let simple = |kind| Some(Arg { kind, pos: tok.pos, span: (tok.pos, tok.end) });
        let arg = match &tok.tok {
            Tok::Ident(name) => {
                if !funcs::is_defined(name) {
                    return Err(self.error_at(tok.pos, format!("function \"{name}\" not defined")));
                }
                simple(ArgKind::Ident(name.clone()))
            }
            Tok::Dot => simple(ArgKind::Dot),
            Tok::Nil => simple(ArgKind::Nil),
            Tok::Var(name) => {
                self.use_var(name, tok.pos)?;
                simple(ArgKind::Var(name.clone(), Vec::new()))
            }
            Tok::Field(name) => simple(ArgKind::Field(vec![name.clone()])),
            Tok::Lit(v) => simple(ArgKind::Lit(v.clone())),
            Tok::LParen => {
                self.next();
                let pipe = self.pipeline("parenthesized pipeline", false)?;
                let end = self.toks[self.i - 1].end;
                return Ok(Some(Arg { kind: ArgKind::Pipe(Box::new(pipe)), pos: tok.pos, span: (tok.pos, end) }));
            }
            _ => return Ok(None),
        };
        self.next();
        Ok(arg)
    }
}
