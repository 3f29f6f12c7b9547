//! Nix's own rendering of an expression (`Expr::show` in Nix 2.8), used where Nix quotes an
//! expression in a message (`assertion '(1 == 2)' failed`): binary operators parenthesised,
//! comparisons and arithmetic as the calls they desugar to (`x > 3` is `(__lessThan 3 x)`),
//! calls as `(f a b)`. Forms this printer does not know give `None`; callers then quote the
//! source text.

use rnix::ast::{self, HasEntry};
use rowan::ast::AstNode;

/// `text` (one expression) as Nix shows it.
pub fn show_expression(text: &str) -> Option<String> {
    let parsed = rnix::Root::parse(text);
    if !parsed.errors().is_empty() {
        return None;
    }
    show(&parsed.tree().expr()?)
}

fn show(e: &ast::Expr) -> Option<String> {
    use ast::BinOpKind as K;
    Some(match e {
        ast::Expr::Paren(p) => show(&p.expr()?)?,
        ast::Expr::Ident(i) => i.syntax().text().to_string(),
        ast::Expr::Literal(l) => match l.kind() {
            ast::LiteralKind::Integer(i) => i.value().ok()?.to_string(),
            _ => return None,
        },
        ast::Expr::Str(s) => {
            let mut out = String::from("\"");
            for part in s.normalized_parts() {
                match part {
                    ast::InterpolPart::Literal(t) => {
                        for c in t.chars() {
                            match c {
                                '"' => out.push_str("\\\""),
                                '\\' => out.push_str("\\\\"),
                                '\n' => out.push_str("\\n"),
                                '\r' => out.push_str("\\r"),
                                '\t' => out.push_str("\\t"),
                                '$' => out.push_str("\\$"),
                                c => out.push(c),
                            }
                        }
                    }
                    ast::InterpolPart::Interpolation(_) => return None,
                }
            }
            out.push('"');
            out
        }
        ast::Expr::UnaryOp(u) => {
            let operand = show(&u.expr()?)?;
            match u.operator()? {
                ast::UnaryOpKind::Invert => format!("(! {operand})"),
                ast::UnaryOpKind::Negate => format!("(__sub 0 {operand})"),
            }
        }
        ast::Expr::BinOp(b) => {
            let (l, r) = (show(&b.lhs()?)?, show(&b.rhs()?)?);
            let infix = |op: &str| format!("({l} {op} {r})");
            match b.operator()? {
                K::Equal => infix("=="),
                K::NotEqual => infix("!="),
                K::And => infix("&&"),
                K::Or => infix("||"),
                K::Implication => infix("->"),
                K::Update => infix("//"),
                K::Concat => infix("++"),
                K::Add => infix("+"),
                K::Sub => format!("(__sub {l} {r})"),
                K::Mul => format!("(__mul {l} {r})"),
                K::Div => format!("(__div {l} {r})"),
                K::Less => format!("(__lessThan {l} {r})"),
                K::More => format!("(__lessThan {r} {l})"),
                K::LessOrEq => format!("(! (__lessThan {r} {l}))"),
                K::MoreOrEq => format!("(! (__lessThan {l} {r}))"),
                K::PipeRight | K::PipeLeft => return None,
            }
        }
        ast::Expr::Apply(a) => {
            // Nix flattens curried calls: `f a b` is one call `(f a b)`.
            let mut args = vec![show(&a.argument()?)?];
            let mut head = a.lambda()?;
            while let ast::Expr::Apply(inner) = &head {
                args.push(show(&inner.argument()?)?);
                head = inner.lambda()?;
            }
            args.reverse();
            format!("({} {})", show(&head)?, args.join(" "))
        }
        ast::Expr::List(l) => {
            let items: Option<Vec<String>> = l.items().map(|i| show(&i)).collect();
            let items = items?;
            let mut out = String::from("[ ");
            for i in items {
                out.push_str(&i);
                out.push(' ');
            }
            out.push(']');
            out
        }
        ast::Expr::AttrSet(a) if a.entries().next().is_none() && a.rec_token().is_none() => {
            "{ }".to_owned()
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_as_nix_2_8_does() {
        for (source, shown) in [
            ("1 == 2", "(1 == 2)"),
            ("x > 3 && true", "((__lessThan 3 x) && true)"),
            ("a <= b", "(! (__lessThan b a))"),
            ("a >= b", "(! (__lessThan a b))"),
            ("!(f 1 2)", "(! (f 1 2))"),
            ("x - -1", "(__sub x (__sub 0 1))"),
            ("\"a\\\"b\" != [ 1 x ]", "(\"a\\\"b\" != [ 1 x ])"),
        ] {
            assert_eq!(show_expression(source).as_deref(), Some(shown), "{source}");
        }
        assert_eq!(show_expression("let a = 1; in a"), None);
    }
}
