//! DynamoDB key condition expressions (`PK = :pk AND begins_with(SK, :p)`,
//! `due_shard = :s AND due_at <= :now`, `x BETWEEN :a AND :b`), parsed with the request's
//! `ExpressionAttributeNames` and `ExpressionAttributeValues` into clauses that can be
//! evaluated on the items the cost model shadows, to know which items a query read.

use std::cmp::Ordering;

use serde_json::{Map, Value};

use super::dynamo_units::Item;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

/// One clause, on one attribute.
#[derive(Debug, Clone, PartialEq)]
pub enum Clause {
    Compare(String, Comparison, Value),
    Between(String, Value, Value),
    BeginsWith(String, Value),
}

impl Clause {
    pub fn attribute(&self) -> &str {
        match self {
            Clause::Compare(name, ..) | Clause::Between(name, ..) | Clause::BeginsWith(name, _) => {
                name
            }
        }
    }

    pub fn matches(&self, item: &Item) -> bool {
        let Some(actual) = item.get(self.attribute()) else {
            return false;
        };
        match self {
            Clause::Compare(_, comparison, value) => {
                compare(actual, value).is_some_and(|order| match comparison {
                    Comparison::Eq => order == Ordering::Equal,
                    Comparison::Lt => order == Ordering::Less,
                    Comparison::Le => order != Ordering::Greater,
                    Comparison::Gt => order == Ordering::Greater,
                    Comparison::Ge => order != Ordering::Less,
                })
            }
            Clause::Between(_, low, high) => {
                compare(actual, low).is_some_and(|o| o != Ordering::Less)
                    && compare(actual, high).is_some_and(|o| o != Ordering::Greater)
            }
            Clause::BeginsWith(_, prefix) => match (scalar(actual), scalar(prefix)) {
                (Some(("S", a)), Some(("S", p))) => a.starts_with(p),
                _ => false,
            },
        }
    }
}

fn scalar(value: &Value) -> Option<(&str, &str)> {
    let (kind, inner) = value.as_object()?.iter().next()?;
    Some((kind.as_str(), inner.as_str()?))
}

/// DynamoDB's order of two key values of one type: numbers by value, strings (and base64
/// binaries, close enough) by bytes.
pub fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (scalar(a)?, scalar(b)?) {
        (("N", x), ("N", y)) => x.parse::<f64>().ok()?.partial_cmp(&y.parse::<f64>().ok()?),
        ((kx, x), (ky, y)) if kx == ky => Some(x.as_bytes().cmp(y.as_bytes())),
        _ => None,
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Operator(String),
    Open,
    Close,
    Comma,
}

fn tokens(expression: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut chars = expression.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {}
            '(' => out.push(Token::Open),
            ')' => out.push(Token::Close),
            ',' => out.push(Token::Comma),
            '=' | '<' | '>' => {
                let mut operator = c.to_string();
                if let Some(&next) = chars.peek()
                    && (next == '=' || next == '>')
                {
                    operator.push(next);
                    chars.next();
                }
                out.push(Token::Operator(operator));
            }
            c => {
                let mut word = c.to_string();
                while let Some(&next) = chars.peek() {
                    if next.is_whitespace() || "(),=<>".contains(next) {
                        break;
                    }
                    word.push(next);
                    chars.next();
                }
                out.push(Token::Word(word));
            }
        }
    }
    out
}

struct Parser<'a> {
    tokens: Vec<Token>,
    at: usize,
    names: &'a Map<String, Value>,
    values: &'a Map<String, Value>,
}

impl Parser<'_> {
    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        token
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn expect(&mut self, wanted: Token) -> Result<(), String> {
        match self.next() {
            Some(token) if token == wanted => Ok(()),
            other => Err(format!("expected {wanted:?}, found {other:?}")),
        }
    }

    fn word(&mut self) -> Result<String, String> {
        match self.next() {
            Some(Token::Word(word)) => Ok(word),
            other => Err(format!("expected a name or value, found {other:?}")),
        }
    }

    fn name(&mut self) -> Result<String, String> {
        let word = self.word()?;
        if word.starts_with('#') {
            return self
                .names
                .get(&word)
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| format!("{word} is not in ExpressionAttributeNames"));
        }
        Ok(word)
    }

    fn value(&mut self) -> Result<Value, String> {
        let word = self.word()?;
        self.values
            .get(&word)
            .cloned()
            .ok_or_else(|| format!("{word} is not in ExpressionAttributeValues"))
    }

    fn is_keyword(&self, keyword: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(keyword))
    }

    fn conjunction(&mut self, clauses: &mut Vec<Clause>) -> Result<(), String> {
        self.clause(clauses)?;
        while self.is_keyword("AND") {
            self.next();
            self.clause(clauses)?;
        }
        Ok(())
    }

    fn clause(&mut self, clauses: &mut Vec<Clause>) -> Result<(), String> {
        if self.peek() == Some(&Token::Open) {
            self.next();
            self.conjunction(clauses)?;
            return self.expect(Token::Close);
        }
        if self.is_keyword("begins_with") {
            self.next();
            self.expect(Token::Open)?;
            let name = self.name()?;
            self.expect(Token::Comma)?;
            let prefix = self.value()?;
            self.expect(Token::Close)?;
            clauses.push(Clause::BeginsWith(name, prefix));
            return Ok(());
        }
        let name = self.name()?;
        if self.is_keyword("BETWEEN") {
            self.next();
            let low = self.value()?;
            if !self.is_keyword("AND") {
                return Err("BETWEEN without AND".into());
            }
            self.next();
            let high = self.value()?;
            clauses.push(Clause::Between(name, low, high));
            return Ok(());
        }
        let comparison = match self.next() {
            Some(Token::Operator(op)) => match op.as_str() {
                "=" => Comparison::Eq,
                "<" => Comparison::Lt,
                "<=" => Comparison::Le,
                ">" => Comparison::Gt,
                ">=" => Comparison::Ge,
                other => return Err(format!("{other} is not a key condition operator")),
            },
            other => return Err(format!("expected a comparison, found {other:?}")),
        };
        let value = self.value()?;
        clauses.push(Clause::Compare(name, comparison, value));
        Ok(())
    }
}

/// The clauses of a key condition expression (one on the partition key, at most one on the
/// sort key).
pub fn parse(
    expression: &str,
    names: &Map<String, Value>,
    values: &Map<String, Value>,
) -> Result<Vec<Clause>, String> {
    let mut parser = Parser {
        tokens: tokens(expression),
        at: 0,
        names,
        values,
    };
    let mut clauses = Vec::new();
    parser.conjunction(&mut clauses)?;
    match parser.peek() {
        None => Ok(clauses),
        Some(extra) => Err(format!("unexpected {extra:?} in {expression:?}")),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn map(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn the_store_s_key_conditions_parse_and_match() {
        let values = map(json!({
            ":pk": {"S": "JOB#a"}, ":run": {"S": "RUN#"}, ":now": {"N": "1000"},
            ":a": {"N": "5"}, ":b": {"N": "10"},
        }));
        let names = map(json!({"#s": "SK"}));
        let clauses = parse("PK = :pk AND begins_with(#s, :run)", &names, &values).expect("parses");
        assert_eq!(clauses.len(), 2);
        let run = map(json!({"PK": {"S": "JOB#a"}, "SK": {"S": "RUN#0001"}}));
        let job = map(json!({"PK": {"S": "JOB#a"}, "SK": {"S": "JOB"}}));
        assert!(clauses.iter().all(|c| c.matches(&run)));
        assert!(!clauses.iter().all(|c| c.matches(&job)));

        let due = parse("(due_at<=:now)", &names, &values).expect("parses");
        let at = |n: &str| map(json!({"due_at": {"N": n}}));
        assert!(due[0].matches(&at("999")) && due[0].matches(&at("1000")));
        assert!(!due[0].matches(&at("1001")), "numbers compare by value");

        let between = parse("x BETWEEN :a AND :b", &names, &values).expect("parses");
        let x = |n: &str| map(json!({"x": {"N": n}}));
        assert!(between[0].matches(&x("10")) && !between[0].matches(&x("11")));
        assert!(parse("PK = :missing", &names, &values).is_err());
    }
}
