//! Go text/template as docker's `--format` uses it: parsing ([`lex`],
//! [`parse`]), execution against a [`Value`] ([`exec`]), the builtin and
//! docker functions ([`funcs`], [`printf`]), and Go's error messages
//! (`template: NAME:LINE: …` for parse errors, `template: NAME:LINE:COL:
//! executing "NAME" at <NODE>: …` for execution errors).
//!
//! Not supported: `{{define}}`, `{{template}}`, `{{block}}`, and Go's `html`,
//! `js`, `urlquery` and `call` functions.

mod exec;
mod funcs;
mod lex;
mod parse;
mod printf;
#[cfg(test)]
mod tests;

use super::value::Value;

/// A template that failed to parse or to execute, worded as Go words it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("template: {name}:{line}: {msg}")]
    Parse { name: String, line: usize, msg: String },
    #[error("template: {name}:{line}:{col}: executing \"{name}\" at <{context}>: {msg}")]
    Exec { name: String, line: usize, col: usize, context: String, msg: String },
}

/// A parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    name: String,
    source: String,
    root: Vec<parse::Node>,
}

impl Template {
    /// Parses an anonymous template (docker's formatters name theirs "").
    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        Self::parse_named("", text)
    }

    /// Parses a template with a name, which appears in error messages
    /// (`docker version` names its template "version").
    pub fn parse_named(name: &str, text: &str) -> Result<Self, TemplateError> {
        let parse_error =
            |pos: usize, msg: String| TemplateError::Parse { name: name.to_string(), line: line_col(text, pos).0, msg };
        let toks = lex::lex(text).map_err(|e| parse_error(e.pos, e.msg))?;
        let root = parse::parse(&toks).map_err(|e| parse_error(e.pos, e.msg))?;
        Ok(Template { name: name.to_string(), source: text.to_string(), root })
    }

    /// Runs the template on `data`, appending to `out`. On error, what was
    /// written before it stays in `out` (Go writes as it goes).
    pub fn execute(&self, data: &Value, out: &mut String) -> Result<(), TemplateError> {
        self.run(data, false, out)
    }

    /// Runs the template and returns the output; nothing on error.
    pub fn render(&self, data: &Value) -> Result<String, TemplateError> {
        let mut out = String::new();
        self.execute(data, &mut out)?;
        Ok(out)
    }

    /// Runs the template on a table's header map (field name → column name)
    /// with docker's header functions: `json`, `split`, `join`, `title`,
    /// `lower`, `upper` and `truncate` pass the column name through.
    pub fn execute_header(&self, header: &Value, out: &mut String) -> Result<(), TemplateError> {
        self.run(header, true, out)
    }

    /// Runs the template with Go's `missingkey=error` option (docker's
    /// inspect retries a template on the raw JSON this way): a missing map
    /// key is an error, not `<no value>`.
    pub fn render_missingkey_error(&self, data: &Value) -> Result<String, TemplateError> {
        let mut out = String::new();
        self.run_with(data, false, true, &mut out)?;
        Ok(out)
    }

    fn run(&self, data: &Value, header: bool, out: &mut String) -> Result<(), TemplateError> {
        self.run_with(data, header, false, out)
    }

    fn run_with(&self, data: &Value, header: bool, strict: bool, out: &mut String) -> Result<(), TemplateError> {
        let mut exec = exec::Exec::new(&self.source, data, header, out);
        exec.missing_key_error = strict;
        exec.run(data, &self.root).map_err(|e| {
            let (line, col) = line_col(&self.source, e.pos);
            let text = self.source.get(e.span.0..e.span.1).unwrap_or("");
            let mut context: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
            if context.chars().count() > 20 {
                context = format!("{}...", context.chars().take(20).collect::<String>());
            }
            TemplateError::Exec { name: self.name.clone(), line, col, context, msg: e.msg }
        })
    }
}

/// 1-based line and 0-based byte column of `pos`, as Go reports them.
fn line_col(text: &str, pos: usize) -> (usize, usize) {
    let before = text.get(..pos.min(text.len())).unwrap_or(text);
    let line = 1 + before.matches('\n').count();
    let col = before.rfind('\n').map_or(before.len(), |i| before.len() - i - 1);
    (line, col)
}
