//! The condition language of rules: small, safe, and readable by a reviewer.
//!
//! ```text
//! element.internet_facing and (not element.authentication or element.authentication == "none")
//! flow.crosses_boundary and not flow.encrypted and flow.confidentiality >= "high"
//! element.technology in ["database", "object-storage"] and element.tags contains "legacy"
//! ```
//!
//! - paths: `element.x`, `flow.x`, `flow.source.x`, `flow.target.x` (letters, digits, `_`, `-`);
//! - literals: `"text"` or `'text'`, whole or decimal numbers, `true`, `false`, lists `[a, b]`;
//! - comparisons: `==`, `!=`, `<`, `<=`, `>`, `>=` (numbers, or the levels low < medium < high <
//!   critical), `in [list]`, `not in [list]`, `contains` (a list holds a value, or text holds
//!   text), `is set`, `is not set`;
//! - `not`, `and`, `or` and parentheses; a bare path is true when set and not false, empty or 0.
//!
//! Nothing else: no functions, no host code, no loops. Evaluation is a walk of the parsed tree,
//! bounded by its size; an expression is at most [`MAX_LEN`] characters and [`MAX_DEPTH`] deep.
//! An attribute that is not set reads as nothing, so `not element.encryption_at_rest` holds for an
//! element that does not say.

use serde_json::Value;

use crate::model::Level;

/// Longest condition accepted.
pub const MAX_LEN: usize = 4096;
/// Deepest nesting of parentheses, lists and `not`.
pub const MAX_DEPTH: usize = 32;

/// A parsed condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Path(Vec<String>),
    Lit(Value),
    List(Vec<Expr>),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Cmp(Box<Expr>, Op, Box<Expr>),
    IsSet(Box<Expr>, bool),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    NotIn,
    Contains,
}

/// Why a condition could not be read: the 1-based column and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CondError {
    pub column: usize,
    pub message: String,
}

impl std::fmt::Display for CondError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "column {}: {}", self.column, self.message)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(f64),
    Sym(&'static str),
    End,
}

struct Lexer {
    toks: Vec<(Tok, usize)>,
}

fn lex(src: &str) -> Result<Lexer, CondError> {
    let chars: Vec<char> = src.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    let err = |i: usize, m: String| CondError {
        column: i + 1,
        message: m,
    };
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        if c.is_ascii_alphabetic() || c == '_' {
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric() || matches!(chars[i], '_' | '-'))
            {
                i += 1;
            }
            toks.push((Tok::Ident(chars[start..i].iter().collect()), start));
        } else if c.is_ascii_digit()
            || (c == '-' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            i += 1;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            let n = text
                .parse::<f64>()
                .map_err(|_| err(start, format!("`{text}` is not a number")))?;
            toks.push((Tok::Num(n), start));
        } else if c == '"' || c == '\'' {
            i += 1;
            let mut s = String::new();
            loop {
                match chars.get(i) {
                    None => return Err(err(start, "this text has no closing quote".into())),
                    Some(&q) if q == c => {
                        i += 1;
                        break;
                    }
                    Some('\\') => {
                        match chars.get(i + 1) {
                            Some(&e @ ('\\' | '"' | '\'')) => s.push(e),
                            _ => return Err(err(i, "only \\\\, \\\" and \\' are escapes".into())),
                        }
                        i += 2;
                    }
                    Some(&ch) => {
                        s.push(ch);
                        i += 1;
                    }
                }
            }
            toks.push((Tok::Str(s), start));
        } else {
            let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            let sym = match two.as_str() {
                "==" => Some("=="),
                "!=" => Some("!="),
                "<=" => Some("<="),
                ">=" => Some(">="),
                _ => None,
            };
            if let Some(s) = sym {
                toks.push((Tok::Sym(s), start));
                i += 2;
                continue;
            }
            let one = match c {
                '<' => "<",
                '>' => ">",
                '(' => "(",
                ')' => ")",
                '[' => "[",
                ']' => "]",
                ',' => ",",
                '.' => ".",
                '=' => return Err(err(i, "use `==` to compare".into())),
                '&' | '|' | '!' => {
                    return Err(err(i, "use the words `and`, `or` and `not`".into()));
                }
                _ => return Err(err(i, format!("`{c}` has no meaning here"))),
            };
            toks.push((Tok::Sym(one), start));
            i += 1;
        }
    }
    toks.push((Tok::End, chars.len()));
    Ok(Lexer { toks })
}

struct Parser {
    toks: Vec<(Tok, usize)>,
    pos: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> &Tok {
        &self.toks[self.pos].0
    }
    fn col(&self) -> usize {
        self.toks[self.pos].1 + 1
    }
    fn bump(&mut self) -> Tok {
        let t = self.toks[self.pos].0.clone();
        if self.pos + 1 < self.toks.len() {
            self.pos += 1;
        }
        t
    }
    fn is_word(&self, w: &str) -> bool {
        matches!(self.peek(), Tok::Ident(s) if s == w)
    }
    fn err<T>(&self, message: impl Into<String>) -> Result<T, CondError> {
        Err(CondError {
            column: self.col(),
            message: message.into(),
        })
    }
    fn deeper(&mut self) -> Result<(), CondError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.err(format!("nested more than {MAX_DEPTH} deep"));
        }
        Ok(())
    }

    fn expr(&mut self) -> Result<Expr, CondError> {
        let mut left = self.and()?;
        while self.is_word("or") {
            self.bump();
            let right = self.and()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, CondError> {
        let mut left = self.unary()?;
        while self.is_word("and") {
            self.bump();
            let right = self.unary()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, CondError> {
        if self.is_word("not") {
            self.bump();
            self.deeper()?;
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner)));
        }
        self.cmp()
    }

    fn cmp(&mut self) -> Result<Expr, CondError> {
        let left = self.term()?;
        let op = match self.peek() {
            Tok::Sym("==") => Op::Eq,
            Tok::Sym("!=") => Op::Ne,
            Tok::Sym("<") => Op::Lt,
            Tok::Sym("<=") => Op::Le,
            Tok::Sym(">") => Op::Gt,
            Tok::Sym(">=") => Op::Ge,
            Tok::Ident(w) if w == "in" => Op::In,
            Tok::Ident(w) if w == "contains" => Op::Contains,
            Tok::Ident(w) if w == "is" => {
                self.bump();
                let negated = self.is_word("not");
                if negated {
                    self.bump();
                }
                if !self.is_word("set") {
                    return self.err("expected `set` (`is set` or `is not set`)");
                }
                self.bump();
                return Ok(Expr::IsSet(Box::new(left), !negated));
            }
            Tok::Ident(w) if w == "not" => {
                self.bump();
                if !self.is_word("in") {
                    return self.err(
                        "expected `in` after `not` (`not in [..]`); to negate, write `not` first",
                    );
                }
                Op::NotIn
            }
            _ => return Ok(left),
        };
        self.bump();
        let col = self.col();
        let right = self.term()?;
        if matches!(op, Op::In | Op::NotIn) && !matches!(right, Expr::List(_) | Expr::Path(_)) {
            return Err(CondError {
                column: col,
                message: "`in` takes a list: `in [\"a\", \"b\"]`".into(),
            });
        }
        Ok(Expr::Cmp(Box::new(left), op, Box::new(right)))
    }

    fn term(&mut self) -> Result<Expr, CondError> {
        let col = self.col();
        match self.bump() {
            Tok::Str(s) => Ok(Expr::Lit(Value::String(s))),
            Tok::Num(n) => Ok(Expr::Lit(
                serde_json::Number::from_f64(n)
                    .map(Value::Number)
                    .unwrap_or(Value::Null),
            )),
            Tok::Ident(w) if w == "true" => Ok(Expr::Lit(Value::Bool(true))),
            Tok::Ident(w) if w == "false" => Ok(Expr::Lit(Value::Bool(false))),
            Tok::Ident(w)
                if matches!(w.as_str(), "and" | "or" | "in" | "contains" | "is" | "set") =>
            {
                Err(CondError {
                    column: col,
                    message: format!("expected a value or an attribute, found `{w}`"),
                })
            }
            Tok::Ident(first) => {
                let mut parts = vec![first];
                while self.peek() == &Tok::Sym(".") {
                    self.bump();
                    match self.bump() {
                        Tok::Ident(p) => parts.push(p),
                        _ => return self.err("expected an attribute name after `.`"),
                    }
                }
                Ok(Expr::Path(parts))
            }
            Tok::Sym("(") => {
                self.deeper()?;
                let e = self.expr()?;
                self.depth -= 1;
                if self.bump() != Tok::Sym(")") {
                    return Err(CondError {
                        column: col,
                        message: "this `(` is not closed".into(),
                    });
                }
                Ok(e)
            }
            Tok::Sym("[") => {
                self.deeper()?;
                let mut items = Vec::new();
                if self.peek() != &Tok::Sym("]") {
                    loop {
                        items.push(self.term()?);
                        match self.bump() {
                            Tok::Sym(",") => continue,
                            Tok::Sym("]") => break,
                            _ => {
                                return Err(CondError {
                                    column: col,
                                    message: "this list is not closed with `]`".into(),
                                });
                            }
                        }
                    }
                } else {
                    self.bump();
                }
                self.depth -= 1;
                Ok(Expr::List(items))
            }
            Tok::End => Err(CondError {
                column: col,
                message: "the condition ends too early".into(),
            }),
            Tok::Sym(s) => Err(CondError {
                column: col,
                message: format!("expected a value or an attribute, found `{s}`"),
            }),
        }
    }
}

/// Parse a condition.
pub fn parse(src: &str) -> Result<Expr, CondError> {
    if src.len() > MAX_LEN {
        return Err(CondError {
            column: 1,
            message: format!("a condition is at most {MAX_LEN} characters"),
        });
    }
    let lexer = lex(src)?;
    let mut p = Parser {
        toks: lexer.toks,
        pos: 0,
        depth: 0,
    };
    let e = p.expr()?;
    if p.peek() != &Tok::End {
        return p.err("expected `and`, `or` or the end of the condition");
    }
    Ok(e)
}

impl Expr {
    /// Every path the expression reads.
    pub fn paths(&self) -> Vec<&[String]> {
        let mut out = Vec::new();
        self.walk(&mut |e| {
            if let Expr::Path(p) = e {
                out.push(p.as_slice());
            }
        });
        out
    }

    fn walk<'a>(&'a self, f: &mut impl FnMut(&'a Expr)) {
        f(self);
        match self {
            Expr::Path(_) | Expr::Lit(_) => {}
            Expr::List(items) => items.iter().for_each(|i| i.walk(f)),
            Expr::Not(e) | Expr::IsSet(e, _) => e.walk(f),
            Expr::And(a, b) | Expr::Or(a, b) | Expr::Cmp(a, _, b) => {
                a.walk(f);
                b.walk(f);
            }
        }
    }

    /// Evaluate against `root` (an object with `element` or `flow`), recording in `trace` each
    /// path read and its value.
    pub fn eval(&self, root: &Value, trace: &mut Vec<(String, Value)>) -> bool {
        truthy(&self.value(root, trace))
    }

    fn value(&self, root: &Value, trace: &mut Vec<(String, Value)>) -> Value {
        match self {
            Expr::Path(parts) => {
                let mut cur = root;
                for p in parts {
                    cur = cur.get(p).unwrap_or(&Value::Null);
                }
                let name = parts.join(".");
                if !trace.iter().any(|(n, _)| *n == name) {
                    trace.push((name, cur.clone()));
                }
                cur.clone()
            }
            Expr::Lit(v) => v.clone(),
            Expr::List(items) => Value::Array(items.iter().map(|i| i.value(root, trace)).collect()),
            Expr::Not(e) => Value::Bool(!e.eval(root, trace)),
            Expr::And(a, b) => Value::Bool(a.eval(root, trace) && b.eval(root, trace)),
            Expr::Or(a, b) => Value::Bool(a.eval(root, trace) || b.eval(root, trace)),
            Expr::IsSet(e, want) => Value::Bool(e.value(root, trace).is_null() != *want),
            Expr::Cmp(a, op, b) => {
                let l = a.value(root, trace);
                let r = b.value(root, trace);
                Value::Bool(compare(&l, *op, &r))
            }
        }
    }
}

/// Whether a value counts as true: set, and not false, empty or zero.
pub fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::String(s) => !s.is_empty(),
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn order(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (Value::String(x), Value::String(y)) => Some(Level::parse(x)?.cmp(&Level::parse(y)?)),
        _ => None,
    }
}

fn compare(l: &Value, op: Op, r: &Value) -> bool {
    use std::cmp::Ordering::*;
    match op {
        Op::Eq => same(l, r),
        Op::Ne => !same(l, r),
        Op::Lt => order(l, r) == Some(Less),
        Op::Le => matches!(order(l, r), Some(Less | Equal)),
        Op::Gt => order(l, r) == Some(Greater),
        Op::Ge => matches!(order(l, r), Some(Greater | Equal)),
        Op::In => r
            .as_array()
            .is_some_and(|items| items.iter().any(|i| same(l, i))),
        Op::NotIn => !r
            .as_array()
            .is_some_and(|items| items.iter().any(|i| same(l, i))),
        Op::Contains => match (l, r) {
            (Value::Array(items), _) => items.iter().any(|i| same(i, r)),
            (Value::String(s), Value::String(t)) => s.to_lowercase().contains(&t.to_lowercase()),
            _ => false,
        },
    }
}
