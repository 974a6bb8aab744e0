//! Runs a parsed template against a [`Value`] with Go text/template's
//! semantics: field lookup on structs (error when missing) and maps (`<no
//! value>` when missing), variables and their scopes, pipelines passing the
//! previous result as the last argument, lazy `and`/`or`, `range` over lists,
//! maps (sorted keys) and integers, `break`/`continue`, and Go's error texts.
//!
//! One extension for docker's method fields: a field holding a map that is
//! given an argument indexes it, so a row exposing `Label` as a map of labels
//! supports docker's `{{.Label "com.example.key"}}`.

use super::super::value::Value;
use super::funcs::{self, FuncError};
use super::parse::{Arg, ArgKind, Branch, Cmd, Node, Pipe};

/// An execution error: where (byte offset and source span) and Go's message.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecError {
    pub pos: usize,
    pub span: (usize, usize),
    pub msg: String,
}

enum Flow {
    Normal,
    Break,
    Continue,
}

pub struct Exec<'a> {
    vars: Vec<(String, Value)>,
    /// Docker's header mode: `json`, `split`, `join`, `title`, `lower`,
    /// `upper` and `truncate` return their string argument unchanged.
    header: bool,
    /// The template text, for naming nodes in errors.
    src: &'a str,
    out: &'a mut String,
    /// Go's `missingkey=error`: a missing map key fails instead of
    /// yielding `<no value>`.
    pub missing_key_error: bool,
}

type XResult<T> = Result<T, ExecError>;

fn err_at<T>(pos: usize, span: (usize, usize), msg: impl Into<String>) -> XResult<T> {
    Err(ExecError { pos, span, msg: msg.into() })
}

impl<'a> Exec<'a> {
    pub fn new(src: &'a str, root: &Value, header: bool, out: &'a mut String) -> Self {
        Exec { vars: vec![("$".to_string(), root.clone())], header, src, out, missing_key_error: false }
    }

    pub fn run(&mut self, dot: &Value, nodes: &[Node]) -> XResult<()> {
        self.walk(dot, nodes).map(|_| ())
    }

    fn walk(&mut self, dot: &Value, nodes: &[Node]) -> XResult<Flow> {
        for node in nodes {
            match node {
                Node::Text(t) => self.out.push_str(t),
                Node::Action(pipe) => {
                    let v = self.pipeline(dot, pipe)?;
                    if pipe.decl.is_empty() {
                        self.out.push_str(&v.to_go_string());
                    }
                }
                Node::If(b) | Node::With(b) => {
                    let mark = self.vars.len();
                    let v = self.pipeline(dot, &b.pipe)?;
                    let flow = if v.is_true() {
                        let next_dot = if matches!(node, Node::With(_)) { &v } else { dot };
                        self.walk(next_dot, &b.list)?
                    } else if let Some(list) = &b.else_list {
                        self.walk(dot, list)?
                    } else {
                        Flow::Normal
                    };
                    self.vars.truncate(mark);
                    if !matches!(flow, Flow::Normal) {
                        return Ok(flow);
                    }
                }
                Node::Range(b) => {
                    let mark = self.vars.len();
                    let result = self.range(dot, b);
                    self.vars.truncate(mark);
                    result?;
                }
                Node::Break => return Ok(Flow::Break),
                Node::Continue => return Ok(Flow::Continue),
            }
        }
        Ok(Flow::Normal)
    }

    fn range(&mut self, dot: &Value, b: &Branch) -> XResult<()> {
        let v = self.commands(dot, &b.pipe.cmds)?;
        let items: Box<dyn Iterator<Item = (Value, Value)>> = match v {
            Value::List(l) => Box::new(l.into_iter().enumerate().map(|(i, v)| (Value::from(i), v))),
            Value::Map(m) => Box::new(m.into_iter().map(|(k, v)| (Value::Str(k), v))),
            Value::Int(n) => Box::new((0..n.max(0)).map(|i| (Value::Int(i), Value::Int(i)))),
            Value::Uint(n) => Box::new((0..n).map(|i| (Value::Uint(i), Value::Uint(i)))),
            Value::Missing | Value::Null => Box::new(std::iter::empty()),
            other => {
                let cmd = &b.pipe.cmds[0];
                return err_at(cmd.pos, cmd.span, format!("range can't iterate over {}", other.to_go_string()));
            }
        };
        let mut items = items.peekable();
        if items.peek().is_none() {
            if let Some(list) = &b.else_list {
                self.walk(dot, list)?;
            }
            return Ok(());
        }
        for (key, elem) in items {
            let mark = self.vars.len();
            match b.pipe.decl.as_slice() {
                [] => {}
                [e] => self.declare(e, elem.clone(), b.pipe.is_assign),
                [k, e, ..] => {
                    self.declare(k, key, b.pipe.is_assign);
                    self.declare(e, elem.clone(), b.pipe.is_assign);
                }
            }
            let flow = self.walk(&elem, &b.list)?;
            self.vars.truncate(mark);
            if matches!(flow, Flow::Break) {
                break;
            }
        }
        Ok(())
    }

    fn declare(&mut self, name: &str, value: Value, assign: bool) {
        if assign && let Some(slot) = self.vars.iter_mut().rev().find(|(n, _)| n == name) {
            slot.1 = value;
            return;
        }
        self.vars.push((name.to_string(), value));
    }

    fn pipeline(&mut self, dot: &Value, pipe: &Pipe) -> XResult<Value> {
        let v = self.commands(dot, &pipe.cmds)?;
        for name in &pipe.decl {
            self.declare(name, v.clone(), pipe.is_assign);
        }
        Ok(v)
    }

    fn commands(&mut self, dot: &Value, cmds: &[Cmd]) -> XResult<Value> {
        let mut value = None;
        for cmd in cmds {
            value = Some(self.command(dot, cmd, value)?);
        }
        Ok(value.unwrap_or(Value::Missing))
    }

    fn not_a_function(&self, cmd: &Cmd, final_: &Option<Value>) -> XResult<()> {
        if cmd.args.len() > 1 || final_.is_some() {
            let first = &cmd.args[0];
            let text = self.src.get(first.span.0..first.span.1).unwrap_or("");
            return err_at(first.pos, first.span, format!("can't give argument to non-function {text}"));
        }
        Ok(())
    }

    fn command(&mut self, dot: &Value, cmd: &Cmd, final_: Option<Value>) -> XResult<Value> {
        let first = &cmd.args[0];
        match &first.kind {
            ArgKind::Field(names) => self.field_chain(dot, dot.clone(), names, first, &cmd.args[1..], final_),
            ArgKind::Chain(base, names) => {
                let base = self.arg(dot, base)?;
                self.field_chain(dot, base, names, first, &cmd.args[1..], final_)
            }
            ArgKind::Var(name, names) => {
                let base = self.var(name, first)?;
                if names.is_empty() {
                    self.not_a_function(cmd, &final_)?;
                    return Ok(base);
                }
                self.field_chain(dot, base, names, first, &cmd.args[1..], final_)
            }
            ArgKind::Ident(name) => self.function(dot, name, cmd, final_),
            ArgKind::Pipe(p) => {
                self.not_a_function(cmd, &final_)?;
                let mark = self.vars.len();
                let v = self.pipeline(dot, p);
                self.vars.truncate(mark);
                v
            }
            ArgKind::Dot => {
                self.not_a_function(cmd, &final_)?;
                Ok(dot.clone())
            }
            ArgKind::Lit(v) => {
                self.not_a_function(cmd, &final_)?;
                Ok(v.clone())
            }
            ArgKind::Nil => err_at(first.pos, first.span, "nil is not a command"),
        }
    }

    fn var(&self, name: &str, at: &Arg) -> XResult<Value> {
        match self.vars.iter().rev().find(|(n, _)| n == name) {
            Some((_, v)) => Ok(v.clone()),
            None => err_at(at.pos, at.span, format!("undefined variable: {name}")),
        }
    }

    /// Evaluates an argument (not in command position).
    fn arg(&mut self, dot: &Value, arg: &Arg) -> XResult<Value> {
        match &arg.kind {
            ArgKind::Dot => Ok(dot.clone()),
            ArgKind::Nil => Ok(Value::Null),
            ArgKind::Lit(v) => Ok(v.clone()),
            ArgKind::Field(names) => self.field_chain(dot, dot.clone(), names, arg, &[], None),
            ArgKind::Var(name, names) => {
                let base = self.var(name, arg)?;
                self.field_chain(dot, base, names, arg, &[], None)
            }
            ArgKind::Chain(base, names) => {
                let base = self.arg(dot, base)?;
                self.field_chain(dot, base, names, arg, &[], None)
            }
            ArgKind::Pipe(p) => {
                let mark = self.vars.len();
                let v = self.pipeline(dot, p);
                self.vars.truncate(mark);
                v
            }
            ArgKind::Ident(name) => {
                let cmd = Cmd { args: vec![arg.clone()], pos: arg.pos, span: arg.span };
                self.function(dot, name, &cmd, None)
            }
        }
    }

    /// `.A.B.C` from `receiver`; arguments (and the piped value) apply to the
    /// last field only.
    fn field_chain(
        &mut self,
        dot: &Value,
        receiver: Value,
        names: &[String],
        at: &Arg,
        args: &[Arg],
        final_: Option<Value>,
    ) -> XResult<Value> {
        let Some((last, init)) = names.split_last() else {
            return Ok(receiver);
        };
        let mut recv = receiver;
        for name in init {
            recv = self.field(dot, name, recv, at, &[], None)?;
        }
        self.field(dot, last, recv, at, args, final_)
    }

    fn field(
        &mut self,
        dot: &Value,
        name: &str,
        recv: Value,
        at: &Arg,
        args: &[Arg],
        final_: Option<Value>,
    ) -> XResult<Value> {
        let has_args = !args.is_empty() || final_.is_some();
        match recv {
            Value::Struct(s) => {
                let Some(v) = s.get(name) else {
                    return err_at(at.pos, at.span, format!("can't evaluate field {name} in type {}", s.name));
                };
                if !has_args {
                    return Ok(v.clone());
                }
                let Value::Map(m) = v else {
                    return err_at(at.pos, at.span, format!("{name} has arguments but cannot be invoked as function"));
                };
                let mut vals = Vec::new();
                for a in args {
                    vals.push(self.arg(dot, a)?);
                }
                vals.extend(final_);
                match vals.as_slice() {
                    [Value::Str(key)] => Ok(m.get(key).cloned().unwrap_or_else(|| funcs::zero_of(m))),
                    [other] => err_at(
                        at.pos,
                        at.span,
                        format!("wrong type for value; expected string; got {}", other.type_name()),
                    ),
                    _ => err_at(at.pos, at.span, format!("wrong number of args for {name}: want 1 got {}", vals.len())),
                }
            }
            // Docker's header row is a map type with one method, `Label`,
            // which titles a `{{.Label "com.example.some_key"}}` column `some key`.
            Value::Map(_) if self.header && name == "Label" => {
                let mut vals = Vec::new();
                for a in args {
                    vals.push(self.arg(dot, a)?);
                }
                vals.extend(final_);
                match vals.as_slice() {
                    [Value::Str(key)] => {
                        let last = key.rsplit('.').next().unwrap_or(key);
                        Ok(Value::Str(last.replace(['-', '_'], " ")))
                    }
                    [other] => err_at(
                        at.pos,
                        at.span,
                        format!("wrong type for value; expected string; got {}", other.type_name()),
                    ),
                    _ => err_at(at.pos, at.span, format!("wrong number of args for {name}: want 1 got {}", vals.len())),
                }
            }
            Value::Map(mut m) => {
                if has_args {
                    return err_at(at.pos, at.span, format!("{name} is not a method but has arguments"));
                }
                match m.remove(name) {
                    Some(v) => Ok(v),
                    None if self.missing_key_error => {
                        err_at(at.pos, at.span, format!("map has no entry for key {name:?}"))
                    }
                    None => Ok(Value::Missing),
                }
            }
            Value::Missing | Value::Null => {
                err_at(at.pos, at.span, format!("nil pointer evaluating interface {{}}.{name}"))
            }
            other => err_at(at.pos, at.span, format!("can't evaluate field {name} in type {}", other.type_name())),
        }
    }

    fn function(&mut self, dot: &Value, name: &str, cmd: &Cmd, final_: Option<Value>) -> XResult<Value> {
        let args = &cmd.args[1..];
        if name == "and" || name == "or" {
            let total = args.len() + usize::from(final_.is_some());
            if total == 0 {
                return err_at(cmd.pos, cmd.span, format!("wrong number of args for {name}: want at least 1 got 0"));
            }
            let mut last = Value::Missing;
            for a in args {
                last = self.arg(dot, a)?;
                if last.is_true() == (name == "or") {
                    return Ok(last);
                }
            }
            return Ok(final_.unwrap_or(last));
        }
        let mut vals = Vec::with_capacity(args.len() + 1);
        for a in args {
            vals.push(self.arg(dot, a)?);
        }
        vals.extend(final_);
        funcs::call(name, vals, self.header).map_err(|e| match e {
            FuncError::Arity(msg) => {
                let ident = &cmd.args[0];
                ExecError { pos: ident.pos, span: ident.span, msg }
            }
            FuncError::Type(i, msg) => match args.get(i) {
                Some(a) => ExecError { pos: a.pos, span: a.span, msg },
                None => ExecError { pos: cmd.pos, span: cmd.span, msg },
            },
            FuncError::Call(msg) => {
                ExecError { pos: cmd.pos, span: cmd.span, msg: format!("error calling {name}: {msg}") }
            }
        })
    }
}
