//! Values in weak head normal form. Containers hold `Thunk`s so that evaluation stays lazy;
//! big payloads sit behind `Rc` so that `Value` stays two words (pinned by a test).

use crate::pool::Counted;
use crate::thin_rc::ThinRc;
use crate::thunk::Thunk;
use crate::Env;
use makes_syntax::byte_text::{bytes_to_text, cmp_as_bytes, text_to_bytes};
use makes_syntax::ir::LambdaDef;
use makes_syntax::Span;
use std::collections::BTreeSet;
use std::rc::Rc;

/// A Nix value, evaluated to its outermost constructor.
#[derive(Clone)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(NixString),
    /// An absolute, canonical path.
    Path(PathText),
    Attrs(AttrSet),
    /// The elements, in one allocation with their counts.
    List(List),
    /// A closure: its code and frame, in a pooled single-count block.
    Lambda(Counted<Closure>),
    PrimOp(Rc<PrimOp>),
    /// A primop applied to fewer arguments than it takes.
    PrimOpApp(Rc<PrimOpApp>),
}

impl Value {
    /// Drops a value held while it was read (an operand, a condition): inline for the kinds
    /// that own nothing (numbers, Booleans, null), most such values, where `drop` would call
    /// the general drop of a value.
    #[inline(always)]
    pub(crate) fn discard(held: Option<Value>) {
        if matches!(
            held,
            None | Some(Value::Null | Value::Bool(_) | Value::Int(_) | Value::Float(_))
        ) {
            // Nothing to free: these own no allocation.
            std::mem::forget(held);
        } else {
            drop(held);
        }
    }

    /// Nix's name of the type, as `builtins.typeOf` returns it.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::String(_) => "string",
            Value::Path(_) => "path",
            Value::Attrs(_) => "set",
            Value::List(_) => "list",
            Value::Lambda(_) | Value::PrimOp(_) | Value::PrimOpApp(_) => "lambda",
        }
    }

    /// The type with its article, as Nix's error messages say it ("a string", "an integer").
    pub fn describe(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a Boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a float",
            Value::String(_) => "a string",
            Value::Path(_) => "a path",
            Value::Attrs(_) => "a set",
            Value::List(_) => "a list",
            Value::Lambda(_) => "a function",
            Value::PrimOp(_) => "a built-in function",
            Value::PrimOpApp(_) => "a partially applied built-in function",
        }
    }

    pub fn string(text: impl IntoNixBytes) -> Value {
        Value::String(NixString::plain(text))
    }

    /// An attribute name as a string value: the bytes it stands for ([`NixString::to_name`]).
    pub fn name(name: &str) -> Value {
        // Only characters of U+10FF80.. (UTF-8 F4 8F BE/BF ..) stand for bytes.
        if !name.as_bytes().contains(&0xF4) {
            return Value::string(name);
        }
        Value::string(text_to_bytes(name))
    }

    /// A list of `items`, copied into the list's one allocation; the empty list is shared.
    #[inline]
    pub fn list(items: Vec<Thunk>) -> Value {
        if items.is_empty() {
            return Value::List(empty_list());
        }
        Value::List(List(ThinRc::new((), items)))
    }

    /// A list of the items of `iter`. An iterator of trusted length (`slice.iter().map(..)`,
    /// a range mapped) is written straight into the list's one allocation; the empty list
    /// is shared.
    #[inline]
    pub fn list_from(iter: impl ExactSizeIterator<Item = Thunk>) -> Value {
        if iter.len() == 0 {
            return Value::List(empty_list());
        }
        Value::List(List(ThinRc::new((), iter)))
    }

    /// The list of the items of `first` and then `second`, in one allocation.
    pub fn list_chain(first: &[Thunk], second: &[Thunk]) -> Value {
        let len = first.len() + second.len();
        if len == 0 {
            return Value::List(empty_list());
        }
        let items = first.iter().chain(second).cloned();
        Value::List(List(ThinRc::with_max((), len, items)))
    }

    /// A set of `attrs`; the empty set (without unlisted attributes) is shared.
    #[inline]
    pub fn attrs(attrs: Attrs) -> Value {
        Value::Attrs(AttrSet::from(attrs))
    }

    pub fn is_function(&self) -> bool {
        matches!(
            self,
            Value::Lambda(_) | Value::PrimOp(_) | Value::PrimOpApp(_)
        )
    }
}

thread_local! {
    /// The empty list and the empty set, shared as Nix shares them (its empty set is one
    /// global, its empty list held in the value): `[]` and `{}` are among the commonest
    /// values (a module's defaults, a filter that keeps nothing), and sharing them saves an
    /// allocation each. Nothing tells two empty lists or sets apart: printing marks neither
    /// as repeated, and comparison finds them equal either way.
    static EMPTY_LIST: List = List(ThinRc::new((), []));
    static EMPTY_ATTRS: AttrSet = AttrSet(ThinRc::new(SetHeader { open: None }, []));
}

/// The shared empty list.
fn empty_list() -> List {
    EMPTY_LIST.with(List::clone)
}

/// A list's elements: one allocation with its count and length, behind one pointer.
#[derive(Clone)]
pub struct List(ThinRc<(), Thunk>);

impl List {
    /// Whether both are the same list (not merely equal elements).
    pub fn ptr_eq(&self, other: &List) -> bool {
        ThinRc::ptr_eq(&self.0, &other.0)
    }

    /// Where the list lives: its identity.
    pub fn addr(&self) -> usize {
        self.0.as_ptr() as usize
    }
}

impl std::ops::Deref for List {
    type Target = [Thunk];
    #[inline]
    fn deref(&self) -> &[Thunk] {
        self.0.items()
    }
}

/// `bytes` as text if they are ASCII: checked a word at a time, cheaper than validating
/// UTF-8 for the short names and patterns most strings are.
#[inline]
fn ascii_text(bytes: &[u8]) -> Option<&str> {
    if bytes.is_ascii() {
        // SAFETY: ASCII bytes are UTF-8.
        Some(unsafe { std::str::from_utf8_unchecked(bytes) })
    } else {
        None
    }
}

/// A path's text: one allocation with its count and length, behind one pointer.
#[derive(Clone)]
pub struct PathText(ThinRc<(), u8>);

impl std::ops::Deref for PathText {
    type Target = str;
    #[inline]
    fn deref(&self) -> &str {
        // SAFETY: made only from `str`s (see the `From` impls), so the bytes are UTF-8.
        unsafe { std::str::from_utf8_unchecked(self.0.items()) }
    }
}

impl From<&str> for PathText {
    fn from(text: &str) -> Self {
        PathText(ThinRc::copied((), text.as_bytes()))
    }
}

impl From<String> for PathText {
    fn from(text: String) -> Self {
        PathText::from(text.as_str())
    }
}

impl From<&String> for PathText {
    fn from(text: &String) -> Self {
        PathText::from(text.as_str())
    }
}

impl From<Rc<str>> for PathText {
    fn from(text: Rc<str>) -> Self {
        PathText::from(&*text)
    }
}

impl From<std::borrow::Cow<'_, str>> for PathText {
    fn from(text: std::borrow::Cow<'_, str>) -> Self {
        PathText::from(&*text)
    }
}

impl PartialEq for PathText {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Eq for PathText {}

impl PartialOrd for PathText {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for PathText {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (**self).cmp(&**other)
    }
}

impl std::fmt::Display for PathText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self)
    }
}

impl std::fmt::Debug for PathText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&**self, f)
    }
}

impl AsRef<str> for PathText {
    fn as_ref(&self) -> &str {
        self
    }
}

impl std::fmt::Debug for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::String(s) => write!(f, "{:?}", s.lossy()),
            Value::Path(p) => f.write_str(p),
            Value::Attrs(a) => write!(f, "{{ {} attributes }}", a.len()),
            Value::List(l) => write!(f, "[ {} items ]", l.len()),
            Value::Lambda(_) => f.write_str("<LAMBDA>"),
            Value::PrimOp(_) => f.write_str("<PRIMOP>"),
            Value::PrimOpApp(_) => f.write_str("<PRIMOP-APP>"),
        }
    }
}

/// What a string refers to, Nix's three kinds of string context: plain store paths (a source,
/// a `toFile`, an output makes builds itself), derivations with all their outputs and their
/// closure (`drvPath`: Nix's `=` elements), and single outputs of a derivation (`outPath`:
/// Nix's `!out!` elements).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    pub paths: BTreeSet<Rc<str>>,
    /// `.drv` paths whose every output and whole closure the string refers to.
    pub derivations: BTreeSet<Rc<str>>,
    /// `(drv path, output name)` pairs.
    pub outputs: BTreeSet<(Rc<str>, Rc<str>)>,
}

impl Context {
    pub fn is_empty(&self) -> bool {
        self.paths.is_empty() && self.derivations.is_empty() && self.outputs.is_empty()
    }

    /// Adds every element of `other`.
    pub fn extend(&mut self, other: &Context) {
        self.paths.extend(other.paths.iter().cloned());
        self.derivations.extend(other.derivations.iter().cloned());
        self.outputs.extend(other.outputs.iter().cloned());
    }

    /// The elements as Nix encodes them (`/nix/store/...`, `=/nix/store/x.drv`,
    /// `!out!/nix/store/x.drv`), in Nix's order (bytewise).
    pub fn encoded(&self) -> Vec<String> {
        let mut out: Vec<String> = self.paths.iter().map(|p| p.to_string()).collect();
        out.extend(self.derivations.iter().map(|d| format!("={d}")));
        out.extend(self.outputs.iter().map(|(d, o)| format!("!{o}!{d}")));
        out.sort();
        out
    }
}

/// A string with its context. Nix strings are bytes (a file read with `readFile` need not be
/// UTF-8): they are counted, cut, compared, hashed and written as bytes, and attribute names
/// may hold any ([`NixString::to_name`]). Where real text is required (paths, regexes, JSON
/// read by `fromJSON`) [`NixString::utf8`] fails clearly on invalid UTF-8;
/// [`NixString::lossy`] is for display and diagnostics only.
#[derive(Clone)]
pub struct NixString(ThinRc<Option<Rc<Context>>, u8>);

impl std::fmt::Debug for NixString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NixString")
            .field("bytes", &self.lossy())
            .field("context", &self.context())
            .finish()
    }
}

/// What a [`NixString`] can be made of: text or bytes (copied into the string's allocation).
pub trait IntoNixBytes {
    fn nix_bytes(&self) -> &[u8];
}

impl IntoNixBytes for Rc<[u8]> {
    fn nix_bytes(&self) -> &[u8] {
        self
    }
}

impl IntoNixBytes for &Rc<[u8]> {
    fn nix_bytes(&self) -> &[u8] {
        self
    }
}

impl IntoNixBytes for Rc<str> {
    fn nix_bytes(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl IntoNixBytes for &Rc<str> {
    fn nix_bytes(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl IntoNixBytes for &str {
    fn nix_bytes(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl IntoNixBytes for &String {
    fn nix_bytes(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl IntoNixBytes for String {
    fn nix_bytes(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl IntoNixBytes for std::borrow::Cow<'_, str> {
    fn nix_bytes(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl IntoNixBytes for std::borrow::Cow<'_, [u8]> {
    fn nix_bytes(&self) -> &[u8] {
        self
    }
}

impl IntoNixBytes for &[u8] {
    fn nix_bytes(&self) -> &[u8] {
        self
    }
}

impl IntoNixBytes for Vec<u8> {
    fn nix_bytes(&self) -> &[u8] {
        self
    }
}

impl IntoNixBytes for &Vec<u8> {
    fn nix_bytes(&self) -> &[u8] {
        self
    }
}

impl NixString {
    /// A string literal of the source: the bytes its text stands for (the source may hold
    /// bytes that are not UTF-8, see `SourceMap::add_bytes`).
    pub fn literal(text: &str) -> Self {
        NixString::plain(text_to_bytes(text))
    }

    pub fn plain(bytes: impl IntoNixBytes) -> Self {
        NixString(ThinRc::copied(None, bytes.nix_bytes()))
    }

    pub fn with_context(bytes: impl IntoNixBytes, context: Context) -> Self {
        let context = (!context.is_empty()).then(|| Rc::new(context));
        NixString(ThinRc::copied(context, bytes.nix_bytes()))
    }

    /// This string's bytes with `context` instead of its own: shared when that is no
    /// change (a string without context stays without), copied otherwise.
    pub fn with_new_context(&self, context: Context) -> Self {
        if context.is_empty() && !self.has_context() {
            return self.clone();
        }
        NixString::with_context(self.as_bytes(), context)
    }

    /// Whether both are the same allocation (not merely equal strings).
    #[cfg(test)]
    pub(crate) fn same_allocation(&self, other: &NixString) -> bool {
        ThinRc::ptr_eq(&self.0, &other.0)
    }

    /// The exact bytes.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        self.0.items()
    }

    /// The bytes, for a new string made of them.
    pub fn bytes(&self) -> &[u8] {
        self.0.items()
    }

    /// The text, if the bytes are UTF-8.
    pub fn to_str(&self) -> Option<&str> {
        let bytes = self.as_bytes();
        ascii_text(bytes).or_else(|| std::str::from_utf8(bytes).ok())
    }

    /// The text where only text will do (an attribute name, a path, JSON): invalid UTF-8 is
    /// an error naming the string.
    pub fn utf8(&self) -> crate::Result<&str> {
        self.to_str().ok_or_else(|| {
            crate::EvalError::other(
                format!(
                    "string '{}' is not valid UTF-8 where text is required",
                    self.lossy()
                ),
                None,
            )
        })
    }

    /// [`NixString::utf8`] as a shared string.
    pub fn to_rc_str(&self) -> crate::Result<Rc<str>> {
        self.utf8().map(Rc::from)
    }

    /// The string as an attribute name. Nix allows any bytes in a name; names are `str` in
    /// makes, so bytes that are not UTF-8 are held as the text standing for them
    /// ([`bytes_to_text`]), and [`Value::name`] gives the bytes back.
    pub fn to_name(&self) -> Rc<str> {
        Rc::from(self.as_name())
    }

    /// [`NixString::to_name`] without a copy when the bytes are their own text (UTF-8).
    pub(crate) fn as_name(&self) -> std::borrow::Cow<'_, str> {
        let bytes = self.as_bytes();
        // ASCII holds none of the four-byte characters `bytes_to_text` escapes: it is its
        // own name, and most names are ASCII.
        match ascii_text(bytes) {
            Some(text) => std::borrow::Cow::Borrowed(text),
            None => bytes_to_text(bytes),
        }
    }

    /// The text for display and diagnostics only: invalid UTF-8 shows as U+FFFD.
    pub fn lossy(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(self.as_bytes())
    }

    /// The number of bytes, as `builtins.stringLength` counts.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The plain store paths this string refers to, sorted.
    pub fn context_paths(&self) -> impl Iterator<Item = &Rc<str>> {
        self.0.header().iter().flat_map(|c| c.paths.iter())
    }

    /// The whole context, if there is one.
    pub fn context(&self) -> Option<&Context> {
        self.0.header().as_deref()
    }

    pub fn has_context(&self) -> bool {
        self.0.header().is_some()
    }

    /// Adds this string's context into `into`.
    pub fn merge_context_into(&self, into: &mut Context) {
        if let Some(c) = self.0.header() {
            into.extend(c);
        }
    }
}

/// One attribute: its lazy value and where it was defined (for reports about it).
#[derive(Clone)]
pub struct Attr {
    pub value: Thunk,
    pub span: Option<Span>,
}

/// An attribute set, sorted by name as Nix sorts (by the bytes the names stand for).
///
/// The entries are one vector sorted by name (binary search to select): sets are built far
/// more often than they are changed one name at a time, and most builders (`mapAttrs`, `//`,
/// `listToAttrs`, literals) can produce sorted entries directly, with one allocation.
#[derive(Clone, Default)]
pub struct Attrs {
    entries: Vec<(Name, Attr)>,
    /// Attributes beyond `entries` that exist without being listed (a package set such as
    /// nixpkgs, whose names are only known to its backend); consulted by selection only.
    open: Option<Rc<dyn OpenAttrs>>,
}

/// The unlisted attributes of an open set. Selection (`a.b`, `a ? b`, `getAttr`, `outPath`
/// in coercions) finds them; the listing builtins (`attrNames`, `attrValues`, `mapAttrs`) ask
/// for all the names with [`OpenAttrs::names`], and fail when they cannot be known, rather
/// than list the listed entries alone.
pub trait OpenAttrs {
    /// The attribute `name`, if the set has it. Called once per selection: implementations
    /// memoise, so that an attribute is one shared thunk.
    fn lookup(&self, name: &str) -> Option<Thunk>;

    /// Every unlisted name, or why they cannot be known here.
    fn names(&self) -> std::result::Result<Vec<String>, UnlistedNames> {
        Err(UnlistedNames {
            reason: "the names of this set are not known here".to_owned(),
            help: None,
        })
    }
}

/// Why the names of an open set cannot be listed in this evaluation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct UnlistedNames {
    /// A sentence naming the set.
    pub reason: String,
    /// What would make the names known (a backend, a lock file).
    pub help: Option<String>,
}

/// An attribute name in a set, with the first bytes of its text as a number: most comparisons
/// of names (each probe of a lookup's binary search, each step of a `//` merge) then compare
/// two integers without reading either name's text.
#[derive(Clone)]
struct Name {
    prefix: u64,
    text: Rc<str>,
}

/// The prefix of a name whose first bytes cannot stand in for its order (see [`name_prefix`]).
const NO_PREFIX: u64 = u64::MAX;

/// The first eight bytes of `name`, big-endian and padded with zeros: two names whose prefixes
/// differ are ordered as their prefixes are (UTF-8 orders as its code points do, and a shorter
/// name is a prefix of the other). Equal prefixes say nothing, and neither does a prefix
/// holding 0xF4, the first byte of the characters that stand for bytes (whose order is the
/// bytes', see `cmp_as_bytes`): those names compare by text. No UTF-8 text holds 0xFF bytes,
/// so no real prefix is `NO_PREFIX`.
fn name_prefix(name: &str) -> u64 {
    let prefix = padded_first_bytes(name.as_bytes());
    // Whether a byte is 0xF4: a zero byte of `prefix ^ 0xF4F4..`, found by the usual
    // word-at-a-time test (exact as to whether one exists). Padding bytes (0) never are.
    let x = prefix ^ 0xF4F4_F4F4_F4F4_F4F4;
    if x.wrapping_sub(0x0101_0101_0101_0101) & !x & 0x8080_8080_8080_8080 != 0 {
        return NO_PREFIX;
    }
    prefix
}

/// The first eight bytes of `bytes` as a big-endian number, padded with zeros. Built from at
/// most three fixed-size reads (overlapping where the name is short) rather than a copy of
/// variable length or a loop over the bytes: this runs at every lookup.
#[inline]
fn padded_first_bytes(bytes: &[u8]) -> u64 {
    let len = bytes.len();
    let be32 = |at: usize| {
        let mut word = [0; 4];
        word.copy_from_slice(&bytes[at..at + 4]);
        u64::from(u32::from_be_bytes(word))
    };
    match len {
        8.. => {
            let mut word = [0; 8];
            word.copy_from_slice(&bytes[..8]);
            u64::from_be_bytes(word)
        }
        // The first four and the last four bytes, overlapping unless `len` is 8; the last
        // four move to where they belong (byte `len - 4` at bit `56 - 8 * (len - 4)`).
        4..=7 => be32(0) << 32 | be32(len - 4) << (64 - 8 * len),
        // The first, the middle and the last byte: all of them for `len` up to 3.
        1..=3 => {
            let at = |i: usize| u64::from(bytes[i]) << (56 - 8 * i);
            at(0) | at(len / 2) | at(len - 1)
        }
        0 => 0,
    }
}

impl Name {
    fn new(text: Rc<str>) -> Self {
        Name {
            prefix: name_prefix(&text),
            text,
        }
    }

    /// Whether this is the name of text `text`: the same shared text (names of the source
    /// are one copy each) or equal bytes. Bytes are compared as the prefix first, which
    /// decides names of up to eight bytes and most others without a call to compare memory.
    #[inline]
    fn is(&self, text: &str) -> bool {
        let (mine, theirs) = (self.text.as_bytes(), text.as_bytes());
        if mine.len() != theirs.len() {
            return false;
        }
        if std::ptr::eq(mine.as_ptr(), theirs.as_ptr()) {
            return true;
        }
        // A name holding 0xF4 has no prefix to compare (see `name_prefix`): its bytes are.
        if self.prefix != NO_PREFIX {
            if self.prefix != padded_first_bytes(theirs) {
                return false;
            }
            // Both are all in their equal prefixes.
            if mine.len() <= 8 {
                return true;
            }
        }
        mine == theirs
    }

    /// Nix's order of names (by the bytes they stand for).
    /// Inlined into every probe of a binary search: the common case, prefixes that differ,
    /// is two compares; the rest is out of line.
    #[inline(always)]
    fn cmp_with(&self, prefix: u64, text: &str) -> std::cmp::Ordering {
        if self.prefix != prefix {
            if self.prefix != NO_PREFIX && prefix != NO_PREFIX {
                return self.prefix.cmp(&prefix);
            }
        } else if prefix != NO_PREFIX && self.text.len().max(text.len()) <= 8 {
            // Both names are all in their equal prefixes (zero-padded): the shorter, if
            // either is, is the other without its trailing zero bytes, and comes first.
            return self.text.len().cmp(&text.len());
        }
        self.cmp_by_text(prefix, text)
    }

    /// [`Name::cmp_with`] where the prefixes do not decide.
    #[inline(never)]
    fn cmp_by_text(&self, prefix: u64, text: &str) -> std::cmp::Ordering {
        if std::ptr::eq(self.text.as_ptr(), text.as_ptr()) && self.text.len() == text.len() {
            return std::cmp::Ordering::Equal;
        }
        if self.prefix == prefix && prefix != NO_PREFIX {
            return self.cmp_same_prefix(text);
        }
        cmp_as_bytes(&self.text, text)
    }

    /// The order against a name of the same prefix, neither holding 0xF4 in it: the last
    /// probe of most successful lookups, where the names are equal.
    fn cmp_same_prefix(&self, text: &str) -> std::cmp::Ordering {
        let (mine, theirs) = (self.text.as_bytes(), text.as_bytes());
        // A name of at most eight bytes is all in its prefix, zero-padded: the other name
        // is then that name followed by zero bytes and maybe more, so the shorter is first.
        if mine.len() <= 8 || theirs.len() <= 8 {
            return mine.len().cmp(&theirs.len());
        }
        let (mine_rest, theirs_rest) = (&mine[8..], &theirs[8..]);
        if mine_rest == theirs_rest {
            return std::cmp::Ordering::Equal;
        }
        // A character standing for a byte starts with 0xF4 (and one cut by the eighth byte
        // would have it in the prefix): without one, bytes order as the names do.
        if !mine_rest.contains(&0xF4) && !theirs_rest.contains(&0xF4) {
            return mine_rest.cmp(theirs_rest);
        }
        cmp_as_bytes(&self.text, text)
    }

    fn cmp(&self, other: &Name) -> std::cmp::Ordering {
        self.cmp_with(other.prefix, &other.text)
    }
}

/// The read-only operations of a set, the same on a set being built ([`Attrs`]) and a
/// finished one ([`AttrSet`]): both are sorted entries and an optional open source.
macro_rules! read_attrs {
    () => {
        /// Where `name` is (`Ok`) or would go (`Err`). A binary search that stops at the
        /// name when it meets it (the standard library's always runs to the end, comparing
        /// the name found with itself at every step after it meets it).
        #[inline]
        fn position(&self, name: &str) -> std::result::Result<usize, usize> {
            let prefix = name_prefix(name);
            let entries = self.entries();
            let (mut low, mut high) = (0, entries.len());
            while low < high {
                let mid = low + (high - low) / 2;
                match entries[mid].0.cmp_with(prefix, name) {
                    std::cmp::Ordering::Less => low = mid + 1,
                    std::cmp::Ordering::Greater => high = mid,
                    std::cmp::Ordering::Equal => return Ok(mid),
                }
            }
            Err(low)
        }

        /// A listed attribute.
        #[inline]
        pub fn get(&self, name: &str) -> Option<&Attr> {
            self.position(name).ok().map(|i| &self.entries()[i].1)
        }

        /// A listed attribute or, in an open set, an unlisted one: what selection sees.
        pub fn select(&self, name: &str) -> Option<Attr> {
            if let Some(attr) = self.get(name) {
                return Some(attr.clone());
            }
            let value = self.open_ref()?.lookup(name)?;
            Some(Attr { value, span: None })
        }

        /// Whether selection finds `name`.
        pub fn has(&self, name: &str) -> bool {
            self.select(name).is_some()
        }

        /// The source of unlisted attributes, kept by `//`.
        pub fn open_source(&self) -> Option<&Rc<dyn OpenAttrs>> {
            self.open_ref()
        }

        pub fn contains(&self, name: &str) -> bool {
            self.position(name).is_ok()
        }

        pub fn len(&self) -> usize {
            self.entries().len()
        }

        pub fn is_empty(&self) -> bool {
            self.entries().is_empty()
        }

        pub fn iter(&self) -> impl ExactSizeIterator<Item = (&Rc<str>, &Attr)> {
            self.entries().iter().map(|(k, v)| (&k.text, v))
        }

        pub fn names(&self) -> impl ExactSizeIterator<Item = &Rc<str>> {
            self.entries().iter().map(|(k, _)| &k.text)
        }
    };
}

impl Attrs {
    read_attrs!();

    fn entries(&self) -> &[(Name, Attr)] {
        &self.entries
    }

    fn open_ref(&self) -> Option<&Rc<dyn OpenAttrs>> {
        self.open.as_ref()
    }

    pub fn new() -> Self {
        Self::default()
    }
    /// A set of `entries` in any order; of equal names the first (`keep_first`) or the last
    /// one wins.
    pub(crate) fn from_entries(entries: Vec<(Rc<str>, Attr)>, keep_first: bool) -> Self {
        let mut entries: Vec<(Name, Attr)> = entries
            .into_iter()
            .map(|(name, attr)| (Name::new(name), attr))
            .collect();
        if !keep_first {
            entries.reverse();
        }
        // Stable: of equal names, the first in `entries` stays first and is kept.
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        entries.dedup_by(|later, first| later.0.cmp(&first.0).is_eq());
        Attrs {
            entries,
            open: None,
        }
    }

    /// A set of entries already sorted by name, without duplicates (e.g. another set's
    /// entries mapped in order).
    pub(crate) fn from_sorted(entries: Vec<(Rc<str>, Attr)>) -> Self {
        debug_assert!(entries
            .windows(2)
            .all(|w| cmp_as_bytes(&w[0].0, &w[1].0).is_lt()));
        Attrs {
            entries: entries
                .into_iter()
                .map(|(name, attr)| (Name::new(name), attr))
                .collect(),
            open: None,
        }
    }

    /// Adds or replaces `name`. Inserting in sorted order is cheap (no entries move).
    pub fn insert(&mut self, name: impl Into<Rc<str>>, value: Thunk, span: Option<Span>) {
        let name = Name::new(name.into());
        let attr = Attr { value, span };
        let at = match self.entries.last() {
            Some((last, _)) if last.cmp(&name).is_lt() => Err(self.entries.len()),
            _ => self.position(&name.text),
        };
        match at {
            Ok(i) => self.entries[i].1 = attr,
            Err(i) => self.entries.insert(i, (name, attr)),
        }
    }

    /// A set whose unlisted attributes come from `open`.
    pub fn open(entries: Attrs, open: Rc<dyn OpenAttrs>) -> Self {
        Attrs {
            entries: entries.entries,
            open: Some(open),
        }
    }

    pub(crate) fn set_open_source(&mut self, open: Option<Rc<dyn OpenAttrs>>) {
        self.open = open;
    }

    /// Keeps the entries for which `keep` holds.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&str) -> bool) {
        self.entries.retain(|(k, _)| keep(&k.text));
    }

    pub fn remove(&mut self, name: &str) -> Option<Attr> {
        let i = self.position(name).ok()?;
        Some(self.entries.remove(i).1)
    }
}

/// The most entries a look that misses its remembered position scans rather than searches.
const SCANNED_SET_LEN: usize = 4;

/// What a finished set holds besides its entries.
struct SetHeader {
    open: Option<Rc<dyn OpenAttrs>>,
}

/// A finished attribute set: its entries, sorted by name, and its open source in one
/// allocation behind one pointer ([`ThinRc`]). Built from an [`Attrs`], or directly by the
/// commonest builders (literals, `//`, `mapAttrs`), which then make one allocation per set.
#[derive(Clone)]
pub struct AttrSet(ThinRc<SetHeader, (Name, Attr)>);

impl AttrSet {
    read_attrs!();

    #[inline]
    fn entries(&self) -> &[(Name, Attr)] {
        self.0.items()
    }

    fn open_ref(&self) -> Option<&Rc<dyn OpenAttrs>> {
        self.0.header().open.as_ref()
    }

    /// A listed attribute, looked for first at `last_position` (where a name was found
    /// before, at one place of a program), then at the position after it (that place walking
    /// a set's names in order), and then by search. `last_position` moves to where the name
    /// is found.
    #[inline]
    pub fn get_at_last(&self, name: &str, last_position: &std::cell::Cell<u32>) -> Option<&Attr> {
        let entries = self.entries();
        let last = last_position.get() as usize;
        if let Some((key, attr)) = entries.get(last) {
            // Names in a set are distinct: the entry of the same text is the one.
            if key.is(name) {
                return Some(attr);
            }
        }
        self.get_after_last(name, last, last_position)
    }

    /// [`AttrSet::get_at_last`] past its first look: out of line, keeping the callers' code
    /// small for the look that mostly finds the name.
    #[inline(never)]
    fn get_after_last(
        &self,
        name: &str,
        last: usize,
        last_position: &std::cell::Cell<u32>,
    ) -> Option<&Attr> {
        let entries = self.entries();
        let at = match entries.get(last + 1) {
            Some((key, _)) if key.is(name) => last + 1,
            // A small set is scanned: most looks that miss are in one (formals left to their
            // defaults, `or`, `?`), and most of a scan's steps compare two lengths.
            _ if entries.len() <= SCANNED_SET_LEN => {
                entries.iter().position(|(key, _)| key.is(name))?
            }
            _ => self.position(name).ok()?,
        };
        // A position past `u32` (no set is that big) is only a look that misses.
        last_position.set(u32::try_from(at).unwrap_or(u32::MAX));
        Some(&entries[at].1)
    }

    /// An unlisted attribute of an open set (what selection asks when `get` finds nothing).
    pub(crate) fn select_unlisted(&self, name: &str) -> Option<Thunk> {
        self.open_ref()?.lookup(name)
    }

    /// The shared empty set.
    pub fn empty() -> AttrSet {
        EMPTY_ATTRS.with(AttrSet::clone)
    }

    /// A set of entries with distinct names, most often already in the set's order (the
    /// static names of a literal, sorted by text): sorted only when they are not.
    pub(crate) fn from_distinct(
        entries: impl ExactSizeIterator<Item = (Rc<str>, Attr)>,
    ) -> AttrSet {
        if entries.len() == 0 {
            return AttrSet::empty();
        }
        let entries = entries.map(|(name, attr)| (Name::new(name), attr));
        let set = ThinRc::new(SetHeader { open: None }, entries);
        if set.items().windows(2).all(|w| w[0].0.cmp(&w[1].0).is_lt()) {
            return AttrSet(set);
        }
        let mut sorted: Vec<(Name, Attr)> = set.items().to_vec();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        AttrSet(ThinRc::new(SetHeader { open: None }, sorted))
    }

    /// The set of the same names, each attribute replaced by `f(name, attr)`, with `open` as
    /// its unlisted attributes: one allocation, names and their prefixes kept as they are.
    pub(crate) fn map_listed(
        &self,
        open: Option<Rc<dyn OpenAttrs>>,
        mut f: impl FnMut(&Rc<str>, &Attr) -> Attr,
    ) -> AttrSet {
        if self.is_empty() && open.is_none() {
            return AttrSet::empty();
        }
        let entries = self
            .entries()
            .iter()
            .map(|(name, attr)| (name.clone(), f(&name.text, attr)));
        AttrSet(ThinRc::new(SetHeader { open }, entries))
    }

    /// `self // other`: one merge of the two sorted entry lists, `other` winning, written
    /// straight into the result's allocation; the open source is the left side's. An open
    /// right side answers first, for names listed or not on the left: its listed entries are
    /// the result's, and the rest asks it, then the left.
    pub(crate) fn update(&self, other: &AttrSet) -> AttrSet {
        if let Some(right) = other.open_ref() {
            let rest = crate::open_sets::UpdatedOpen::new(self.clone(), right.clone());
            let open = Some(Rc::new(rest) as Rc<dyn OpenAttrs>);
            return AttrSet(ThinRc::new(
                SetHeader { open },
                other.entries().iter().cloned(),
            ));
        }
        let merged = Merge {
            left: self.entries(),
            right: other.entries(),
        };
        let max = self.len() + other.len();
        let open = self.open_ref().cloned();
        AttrSet(ThinRc::with_max(SetHeader { open }, max, merged))
    }

    /// A set being built from this one's entries and open source.
    pub fn to_attrs(&self) -> Attrs {
        Attrs {
            entries: self.entries().to_vec(),
            open: self.open_ref().cloned(),
        }
    }

    /// Whether both are the same set (not merely equal attributes).
    pub fn ptr_eq(&self, other: &AttrSet) -> bool {
        ThinRc::ptr_eq(&self.0, &other.0)
    }

    /// Where the set lives: its identity.
    pub fn addr(&self) -> usize {
        self.0.as_ptr() as usize
    }
}

impl Default for AttrSet {
    fn default() -> AttrSet {
        AttrSet::empty()
    }
}

impl From<Attrs> for AttrSet {
    /// The finished set; the empty set (without unlisted attributes) is shared.
    fn from(attrs: Attrs) -> AttrSet {
        if attrs.entries.is_empty() && attrs.open.is_none() {
            return AttrSet::empty();
        }
        AttrSet(ThinRc::new(SetHeader { open: attrs.open }, attrs.entries))
    }
}

/// The entries of `left // right`, in order: two sorted lists merged, `right` winning.
struct Merge<'a> {
    left: &'a [(Name, Attr)],
    right: &'a [(Name, Attr)],
}

impl Iterator for Merge<'_> {
    type Item = (Name, Attr);

    #[inline]
    fn next(&mut self) -> Option<(Name, Attr)> {
        let item = match (self.left.first(), self.right.first()) {
            (Some(l), Some(r)) => match l.0.cmp(&r.0) {
                std::cmp::Ordering::Less => {
                    self.left = &self.left[1..];
                    l
                }
                std::cmp::Ordering::Greater => {
                    self.right = &self.right[1..];
                    r
                }
                std::cmp::Ordering::Equal => {
                    self.left = &self.left[1..];
                    self.right = &self.right[1..];
                    r
                }
            },
            (Some(l), None) => {
                self.left = &self.left[1..];
                l
            }
            (None, Some(r)) => {
                self.right = &self.right[1..];
                r
            }
            (None, None) => return None,
        };
        Some(item.clone())
    }
}

impl FromIterator<(Rc<str>, Thunk)> for Attrs {
    fn from_iter<T: IntoIterator<Item = (Rc<str>, Thunk)>>(iter: T) -> Self {
        let entries = iter
            .into_iter()
            .map(|(k, value)| (k, Attr { value, span: None }))
            .collect();
        Attrs::from_entries(entries, false)
    }
}

/// A lambda with the environment it closes over.
pub struct Closure {
    pub def: Rc<LambdaDef>,
    pub env: Env,
}

/// The body of a built-in: gets its arguments unevaluated, forces what it needs.
pub type PrimOpFn = Rc<dyn Fn(&crate::Evaluator, &[Thunk]) -> crate::Result<Value>>;

/// A built-in function of fixed arity.
pub struct PrimOp {
    pub name: Rc<str>,
    pub arity: usize,
    pub func: PrimOpFn,
}

pub struct PrimOpApp {
    pub op: Rc<PrimOp>,
    pub args: Vec<Thunk>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_discarded_value_frees_what_it_holds() {
        let func: PrimOpFn = Rc::new(|_, _| Ok(Value::Null));
        let op = Rc::new(PrimOp {
            name: Rc::from("f"),
            arity: 1,
            func,
        });
        Value::discard(Some(Value::PrimOp(op.clone())));
        assert_eq!(Rc::strong_count(&op), 1, "the discarded clone was dropped");
        Value::discard(Some(Value::Int(1)));
        Value::discard(None);
    }

    #[test]
    fn strings_keep_bytes_and_refuse_them_as_text() {
        let s = NixString::plain(&b"caf\xe9"[..]);
        assert_eq!(s.as_bytes(), b"caf\xe9");
        assert_eq!(s.len(), 4);
        assert!(s.to_str().is_none());
        let err = s.utf8().expect_err("not UTF-8");
        assert!(err.to_string().contains("is not valid UTF-8"), "{err}");
        assert_eq!(s.lossy(), "caf\u{fffd}");
        assert_eq!(NixString::plain("café").utf8().ok(), Some("café"));
    }

    #[test]
    fn ascii_is_its_own_text_and_name() {
        assert_eq!(ascii_text(b""), Some(""));
        assert_eq!(
            ascii_text(b"a long ASCII name, past a word"),
            Some("a long ASCII name, past a word")
        );
        assert_eq!(ascii_text("café".as_bytes()), None);
        assert_eq!(ascii_text(b"abcdefgh\x80"), None);
        // Past the ASCII check, names and text are as the full conversion makes them.
        for bytes in [
            &b"plain"[..],
            "café".as_bytes(),
            b"abcdefghij\xff",
            "\u{10FFBF}x".as_bytes(),
        ] {
            let s = NixString::plain(bytes);
            let name = makes_syntax::byte_text::bytes_to_text(bytes);
            assert_eq!(s.as_name(), name);
            assert_eq!(&*s.to_name(), &*name);
            assert_eq!(s.to_str(), std::str::from_utf8(bytes).ok());
        }
    }

    /// Names of every kind that orders or compares differently.
    fn sample_names() -> Vec<String> {
        // Short, long, sharing eight bytes, empty, and names holding characters that stand for
        // bytes (0x80..0xFF, which order after every ASCII byte) early and late.
        let byte = |b: u8| makes_syntax::byte_text::bytes_to_text(&[b]).into_owned();
        vec![
            String::new(),
            "a".into(),
            "ab".into(),
            "opt1".into(),
            "opt10".into(),
            "opt9".into(),
            "abcdefgh".into(),
            "abcdefghi".into(),
            "abcdefgg".into(),
            "abcdefgh\u{7f}".into(),
            "é".into(),
            "\u{10ffff}".into(),
            format!("a{}", byte(0x80)),
            format!("a{}", byte(0xff)),
            format!("abcdefgh{}", byte(0x90)),
            format!("abcdefg{}", byte(0x90)),
            format!("{}", byte(0xc3)),
            // Equal prefixes: zero bytes after a short name, and longer names that differ
            // past their eighth byte (in plain text, in a character standing for a byte).
            "a\0".into(),
            "abcdefg\0".into(),
            "abcdefgh\0".into(),
            "abcdefghij".into(),
            "abcdefghik".into(),
            "abcdefghijé".into(),
            format!("abcdefghij{}", byte(0x80)),
            format!("abcdefghij{}", byte(0xff)),
        ]
    }

    #[test]
    fn names_order_by_prefix_as_by_bytes() {
        let names = sample_names();
        for a in &names {
            for b in &names {
                let (x, y) = (
                    Name::new(Rc::from(a.as_str())),
                    Name::new(Rc::from(b.as_str())),
                );
                assert_eq!(x.cmp(&y), cmp_as_bytes(a, b), "{a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn a_name_is_the_text_of_equal_bytes_shared_or_not() {
        let names = sample_names();
        for a in &names {
            let name = Name::new(Rc::from(a.as_str()));
            assert!(name.is(&name.text.clone()), "{a:?} shared");
            for b in &names {
                assert_eq!(name.is(b.as_str()), a == b, "{a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn a_look_from_any_remembered_position_finds_what_a_search_finds() {
        // Sets scanned and searched, remembered positions in them and past them, names
        // present and absent.
        let names = ["a", "b", "opt1", "opt10", "opt2", "value", "zz"];
        let probes = names.iter().chain(&["", "missing", "o", "opt3", "zzz"]);
        for len in 0..=names.len() {
            let set = AttrSet::from_distinct(names[..len].iter().map(|n| {
                let attr = Attr {
                    value: Thunk::value(Value::Null),
                    span: None,
                };
                (Rc::from(*n), attr)
            }));
            for start in 0..=len + 1 {
                for probe in probes.clone() {
                    let last = std::cell::Cell::new(start as u32);
                    let found = set.get_at_last(probe, &last).map(|a| a as *const Attr);
                    let searched = set.get(probe).map(|a| a as *const Attr);
                    assert_eq!(found, searched, "{probe:?} in {len} from {start}");
                }
            }
        }
    }

    #[test]
    fn padded_first_bytes_are_those_of_a_copy_at_every_length() {
        let text = b"\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\xf4\xff";
        for len in 0..=text.len() {
            let mut copy = [0u8; 8];
            let head = len.min(8);
            copy[..head].copy_from_slice(&text[..head]);
            assert_eq!(
                padded_first_bytes(&text[..len]),
                u64::from_be_bytes(copy),
                "{len} bytes"
            );
        }
    }

    #[test]
    fn prefixes_are_the_first_bytes_or_none_with_0xf4() {
        assert_eq!(name_prefix(""), 0);
        assert_eq!(name_prefix("a"), 0x6100_0000_0000_0000);
        assert_eq!(name_prefix("abcdefghij"), u64::from_be_bytes(*b"abcdefgh"));
        assert_eq!(name_prefix("abcdefg"), u64::from_be_bytes(*b"abcdefg\0"));
        let byte = makes_syntax::byte_text::bytes_to_text(&[0x80]).into_owned();
        assert_eq!(name_prefix(&byte), NO_PREFIX);
        assert_eq!(name_prefix(&format!("abcd{byte}")), NO_PREFIX);
        // 0xF4 past the first eight bytes does not matter.
        assert_ne!(name_prefix(&format!("abcdefgh{byte}")), NO_PREFIX);
    }

    #[test]
    fn empty_lists_and_sets_are_shared_and_others_are_not() {
        let list = |v: Value| match v {
            Value::List(l) => l,
            other => panic!("not a list: {other:?}"),
        };
        let a = list(Value::list(Vec::new()));
        let b = list(Value::list_from(std::iter::empty()));
        assert!(a.is_empty() && a.ptr_eq(&b));
        let one = || vec![Thunk::value(Value::Int(1))];
        let c = list(Value::list(one()));
        let d = list(Value::list_from(one().into_iter()));
        assert_eq!((c.len(), d.len()), (1, 1));
        assert!(!c.ptr_eq(&d));
        assert!(matches!(d[0].peek(), Some(Value::Int(1))));

        let set = |v: Value| match v {
            Value::Attrs(a) => a,
            other => panic!("not a set: {other:?}"),
        };
        let e = set(Value::attrs(Attrs::new()));
        let f = set(Value::attrs(Attrs::new()));
        assert!(e.is_empty() && e.ptr_eq(&f));
        let mut one_attr = Attrs::new();
        one_attr.insert("a", Thunk::value(Value::Null), None);
        let g = set(Value::attrs(one_attr.clone()));
        let h = set(Value::attrs(one_attr));
        assert!(g.contains("a") && !g.ptr_eq(&h));
    }

    #[test]
    fn mapped_sets_keep_their_names_in_order() {
        let names = ["b", "a", "opt10", "opt9"];
        let set: Attrs = names
            .iter()
            .map(|n| (Rc::from(*n), Thunk::value(Value::Null)))
            .collect();
        let mapped = AttrSet::from(set).map_listed(None, |name, _| Attr {
            value: Thunk::value(Value::string(name)),
            span: None,
        });
        let listed: Vec<&str> = mapped.names().map(|n| &**n).collect();
        assert_eq!(listed, ["a", "b", "opt10", "opt9"]);
        for n in names {
            let value = mapped.get(n).and_then(|a| a.value.peek());
            assert!(matches!(&value, Some(Value::String(s)) if s.as_bytes() == n.as_bytes()));
        }
    }

    #[test]
    fn lookups_from_the_last_position_find_the_same_attributes_as_searches() {
        let set = |names: &[&str]| {
            let mut attrs = Attrs::new();
            for (n, name) in names.iter().enumerate() {
                attrs.insert(*name, Thunk::value(Value::Int(n as i64)), None);
            }
            AttrSet::from(attrs)
        };
        let int = |attr: Option<&Attr>| match attr.and_then(|a| a.value.peek()) {
            Some(Value::Int(n)) => Some(n),
            _ => None,
        };
        // Inserted in order, so the values are the positions.
        let small = set(&["a", "b", "opt1", "opt10"]);
        let big = set(&["a", "aa", "ab", "b", "c", "opt1", "opt10", "z"]);
        let last = std::cell::Cell::new(0);
        for (attrs, name) in [
            (&small, "opt1"),
            (&small, "opt1"),
            (&big, "opt1"),
            (&small, "b"),
            (&big, "b"),
            (&big, "missing"),
            (&small, "opt10"),
            (&big, "opt10"),
        ] {
            let before = last.get();
            let found = int(attrs.get_at_last(name, &last));
            assert_eq!(found, int(attrs.get(name)), "{name} from {before}");
            match found {
                Some(n) => assert_eq!(last.get() as i64, n, "{name}"),
                None => assert_eq!(last.get(), before, "{name}"),
            }
        }
        // Past the end of a smaller set: a search.
        last.set(7);
        assert_eq!(int(small.get_at_last("b", &last)), Some(1));
        assert_eq!(last.get(), 1);
    }

    #[test]
    fn value_is_two_words() {
        // A tag and one word: every payload is a scalar or one thin pointer.
        assert_eq!(std::mem::size_of::<Value>(), 16);
        assert_eq!(std::mem::size_of::<NixString>(), 8);
        assert_eq!(std::mem::size_of::<Option<AttrSet>>(), 8);
    }

    #[test]
    fn strings_carry_their_context_in_their_allocation() {
        let mut context = Context::default();
        context.paths.insert(Rc::from("/nix/store/x-a"));
        let s = NixString::with_context("a", context.clone());
        assert_eq!(s.as_bytes(), b"a");
        assert_eq!(s.context(), Some(&context));
        let plain = s.with_new_context(Context::default());
        assert!(!plain.has_context() && plain.as_bytes() == b"a");
        let kept = plain.with_new_context(Context::default());
        assert!(kept.same_allocation(&plain));
        assert!(NixString::plain("").is_empty());
    }

    #[test]
    fn updates_merge_in_order_with_the_right_side_winning() {
        let set = |names: &[(&str, i64)]| {
            let mut attrs = Attrs::new();
            for (name, n) in names {
                attrs.insert(*name, Thunk::value(Value::Int(*n)), None);
            }
            AttrSet::from(attrs)
        };
        let left = set(&[("a", 1), ("b", 2), ("d", 4)]);
        let right = set(&[("b", 20), ("c", 30), ("e", 50)]);
        let merged = left.update(&right);
        let got: Vec<(String, i64)> = merged
            .iter()
            .map(|(k, v)| match v.value.peek() {
                Some(Value::Int(n)) => (k.to_string(), n),
                _ => panic!("not an int"),
            })
            .collect();
        let want = [("a", 1), ("b", 20), ("c", 30), ("d", 4), ("e", 50)];
        assert_eq!(got, want.map(|(k, n)| (k.to_owned(), n)));
        assert!(merged.get("c").is_some() && merged.get("f").is_none());
        assert_eq!(left.update(&AttrSet::empty()).len(), 3);
    }
}
