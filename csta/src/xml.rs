//! The XML engine of the codec: a lenient reader that turns a body into a small element tree
//! (local names only, children in any order), and a writer that appends ASCII-only XML.
//!
//! The tree borrows the input: names and most texts are slices of the body, so decoding a
//! typical event allocates the node vector and the owned strings of the result, nothing else.

use std::borrow::Cow;

use quick_xml::Reader;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::Event;
use quick_xml::events::attributes::Attributes;

use crate::error::{Error, ValueError, ValueKind};

/// No node (end of a sibling chain, no child).
const NONE: u32 = u32::MAX;

/// A parsed XML document: a flat vector of nodes linked as a tree; node 0 is the root.
pub(crate) struct Doc<'a> {
    src: &'a str,
    nodes: Vec<Node<'a>>,
}

struct Node<'a> {
    /// The tag without `<`, `>` and `/>`: qualified name followed by the attributes.
    tag: &'a str,
    name_len: usize,
    /// The local name (after the prefix), computed once.
    local: &'a str,
    /// Text directly inside the element before its first child element.
    text: Option<Cow<'a, str>>,
    first_child: u32,
    last_child: u32,
    next: u32,
    /// Byte range of the content between the start and the end tag.
    inner: (usize, usize),
}

impl<'a> Doc<'a> {
    /// Parses a whole document. Content after the root element is ignored.
    pub(crate) fn parse(src: &'a str) -> Result<Self, Error> {
        let mut reader = Reader::from_str(src);
        let mut nodes: Vec<Node<'a>> = Vec::with_capacity(src.len() / 24 + 4);
        let mut stack: Vec<u32> = Vec::with_capacity(16);
        loop {
            let before = position(&reader);
            let event = reader.read_event().map_err(|source| Error::Xml {
                offset: position(&reader),
                source,
            })?;
            let empty = matches!(event, Event::Empty(_));
            match event {
                Event::Start(start) | Event::Empty(start) => {
                    // The event borrows the input: find the tag by address, not by counting.
                    let tag = span_in(src, &start).ok_or(Error::Truncated)?;
                    let tag_offset = tag.as_ptr() as usize - src.as_ptr() as usize;
                    let content_start = tag_offset + tag.len() + if empty { 2 } else { 1 };
                    let index = u32::try_from(nodes.len()).unwrap_or(NONE - 1);
                    let name_len = start.name().as_ref().len().min(tag.len());
                    let qname = tag.get(..name_len).unwrap_or(tag);
                    let local = match qname.bytes().rposition(|byte| byte == b':') {
                        Some(colon) => &qname[colon + 1..],
                        None => qname,
                    };
                    nodes.push(Node {
                        tag,
                        name_len,
                        local,
                        text: None,
                        first_child: NONE,
                        last_child: NONE,
                        next: NONE,
                        inner: (content_start, content_start),
                    });
                    if let Some(&parent) = stack.last() {
                        let parent = &mut nodes[parent as usize];
                        // Text before the first child is layout, not a value.
                        parent.text = None;
                        let previous = parent.last_child;
                        parent.last_child = index;
                        if previous == NONE {
                            parent.first_child = index;
                        } else {
                            nodes[previous as usize].next = index;
                        }
                    } else if index != 0 {
                        // A second top-level element: the document ended with the first one.
                        nodes.pop();
                        break;
                    }
                    if empty {
                        if stack.is_empty() {
                            break;
                        }
                    } else {
                        stack.push(index);
                    }
                }
                Event::End(end) => {
                    let index = match stack.pop() {
                        Some(index) => index,
                        None => return Err(Error::NoRoot),
                    };
                    // `</` precedes the name the event borrows.
                    let name_offset = span_in(src, &end).map_or(before + 2, |name| {
                        name.as_ptr() as usize - src.as_ptr() as usize
                    });
                    let node = &mut nodes[index as usize];
                    node.inner.1 = name_offset.saturating_sub(2).max(node.inner.0);
                    if stack.is_empty() {
                        break;
                    }
                }
                Event::Text(text) => {
                    if let Some(&open) = stack.last() {
                        // Text events hold the raw text between markup, which is this slice of
                        // the (already UTF-8) input; fall back to decoding if it is not.
                        let piece = match span_in(src, &text) {
                            Some(raw) => Cow::Borrowed(raw),
                            _ => text.decode().map_err(|error| Error::Xml {
                                offset: before,
                                source: error.into(),
                            })?,
                        };
                        append_text(&mut nodes[open as usize], piece, before)?;
                    }
                }
                Event::CData(data) => {
                    if let Some(&open) = stack.last() {
                        let piece = data.decode().map_err(|error| Error::Xml {
                            offset: before,
                            source: error.into(),
                        })?;
                        append_text(&mut nodes[open as usize], piece, before)?;
                    }
                }
                Event::GeneralRef(reference) => {
                    if let Some(&open) = stack.last() {
                        let resolved = match reference.resolve_char_ref() {
                            Ok(Some(ch)) => {
                                check_char(ch, before)?;
                                let mut buf = [0u8; 4];
                                Cow::Owned(ch.encode_utf8(&mut buf).to_owned())
                            }
                            Ok(None) => {
                                let name = reference.decode().map_err(|error| Error::Xml {
                                    offset: before,
                                    source: error.into(),
                                })?;
                                match resolve_predefined_entity(&name) {
                                    Some(value) => Cow::Borrowed(value),
                                    None => {
                                        return Err(Error::UnknownEntity {
                                            name: truncate(&name),
                                        });
                                    }
                                }
                            }
                            Err(source) => {
                                return Err(Error::Xml {
                                    offset: before,
                                    source,
                                });
                            }
                        };
                        append_owned(&mut nodes[open as usize], &resolved);
                    }
                }
                Event::Eof => {
                    return Err(if nodes.is_empty() {
                        Error::NoRoot
                    } else {
                        Error::Truncated
                    });
                }
                Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
            }
        }
        if nodes.is_empty() {
            return Err(Error::NoRoot);
        }
        Ok(Self { src, nodes })
    }

    /// The root element.
    pub(crate) fn root(&self) -> El<'_, 'a> {
        El {
            doc: self,
            index: 0,
        }
    }
}

/// The part of `src` that `part` borrows, if it does and it is valid UTF-8 on its own.
fn span_in<'a>(src: &'a str, part: &[u8]) -> Option<&'a str> {
    let start = (part.as_ptr() as usize).checked_sub(src.as_ptr() as usize)?;
    src.get(start..start.checked_add(part.len())?)
}

fn position(reader: &Reader<&[u8]>) -> usize {
    usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX)
}

/// Whether XML 1.0 allows the character in a document.
pub(crate) fn is_xml_char(ch: char) -> bool {
    matches!(
        u32::from(ch),
        0x9 | 0xA | 0xD | 0x20..=0xD7FF | 0xE000..=0xFFFD | 0x10000..=0x10FFFF
    )
}

/// Rejects characters that XML 1.0 does not allow, so every decoded string can be written back.
fn check_char(ch: char, offset: usize) -> Result<(), Error> {
    let code = u32::from(ch);
    if is_xml_char(ch) {
        Ok(())
    } else {
        Err(Error::IllegalChar { code, offset })
    }
}

fn append_text<'a>(node: &mut Node<'a>, piece: Cow<'a, str>, offset: usize) -> Result<(), Error> {
    // Checked even where the text is not kept: raw XML around it is kept and written back.
    let plain = piece
        .bytes()
        .all(|byte| (0x20..0x80).contains(&byte) || matches!(byte, b'\t' | b'\n' | b'\r'));
    if !plain {
        for ch in piece.chars() {
            check_char(ch, offset)?;
        }
    }
    if node.first_child != NONE {
        return Ok(());
    }
    match node.text.take() {
        None => node.text = Some(piece),
        Some(existing) => {
            let mut joined = existing.into_owned();
            joined.push_str(&piece);
            node.text = Some(Cow::Owned(joined));
        }
    }
    Ok(())
}

fn append_owned(node: &mut Node<'_>, piece: &str) {
    if node.first_child != NONE {
        return;
    }
    let mut joined = node.text.take().map(Cow::into_owned).unwrap_or_default();
    joined.push_str(piece);
    node.text = Some(Cow::Owned(joined));
}

/// At most 64 characters of an offending value, for error messages.
pub(crate) fn truncate(value: &str) -> String {
    value.chars().take(64).collect()
}

/// A handle to one element of a [`Doc`].
#[derive(Clone, Copy)]
pub(crate) struct El<'d, 'a> {
    doc: &'d Doc<'a>,
    index: u32,
}

impl<'d, 'a> El<'d, 'a> {
    fn node(&self) -> &'d Node<'a> {
        &self.doc.nodes[self.index as usize]
    }

    /// The qualified name as written (`ns3:MonitorStart`).
    pub(crate) fn qname(&self) -> &'a str {
        let node = self.node();
        node.tag.get(..node.name_len).unwrap_or(node.tag)
    }

    /// The local name (`MonitorStart`).
    pub(crate) fn name(&self) -> &'a str {
        self.node().local
    }

    /// The namespace prefix, if the name has one.
    pub(crate) fn prefix(&self) -> Option<&'a str> {
        let qname = self.qname();
        qname.rfind(':').map(|colon| &qname[..colon])
    }

    /// The text content with surrounding XML whitespace removed ("" for none).
    pub(crate) fn text(&self) -> &'d str {
        match &self.node().text {
            Some(text) => text.trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n')),
            None => "",
        }
    }

    /// The text content exactly as written (after entity resolution), for free text.
    pub(crate) fn raw_text(&self) -> &'d str {
        self.node().text.as_deref().unwrap_or("")
    }

    /// Whether the element has child elements.
    pub(crate) fn has_children(&self) -> bool {
        self.node().first_child != NONE
    }

    /// The raw bytes between the start and the end tag, unchanged.
    pub(crate) fn inner_xml(&self) -> &'a str {
        let (start, end) = self.node().inner;
        self.doc.src.get(start..end).unwrap_or("")
    }

    /// The child elements in document order.
    pub(crate) fn children(&self) -> Children<'d, 'a> {
        Children {
            doc: self.doc,
            next: self.node().first_child,
        }
    }

    /// The first child with one of the given local names.
    pub(crate) fn child(&self, names: &[&str]) -> Option<Self> {
        self.children().find(|child| names.contains(&child.name()))
    }

    /// The first child with the given local name, or a `MissingElement` error naming it.
    pub(crate) fn required(&self, names: &[&'static str]) -> Result<Self, Error> {
        self.child(names).ok_or_else(|| Error::MissingElement {
            parent: truncate(self.name()),
            element: names[0],
        })
    }

    /// The value of the attribute with the given local name (prefixes are ignored).
    pub(crate) fn attribute(&self, local: &str) -> Option<Cow<'a, str>> {
        self.attributes()
            .find(|(name, _)| local_part(name) == local)
            .map(|(_, value)| value)
    }

    /// Every well-formed attribute as (qualified name, unescaped value).
    pub(crate) fn attributes(&self) -> impl Iterator<Item = (&'a str, Cow<'a, str>)> {
        let node = self.node();
        let tag: &'a str = node.tag;
        let mut attributes = Attributes::new(tag, node.name_len);
        attributes.with_checks(false);
        attributes.filter_map(move |attribute| {
            let attribute = attribute.ok()?;
            let key = std::str::from_utf8(attribute.key.into_inner()).ok()?;
            let value = attribute.unescape_value().ok()?;
            Some((key, value))
        })
    }

    /// The namespace bound to this element's prefix (or the default namespace) on the element
    /// itself.
    pub(crate) fn declared_namespace(&self) -> Option<Cow<'a, str>> {
        let wanted = self.prefix();
        self.attributes()
            .find(|(name, _)| match wanted {
                Some(prefix) => name.strip_prefix("xmlns:") == Some(prefix),
                None => *name == "xmlns",
            })
            .map(|(_, value)| value)
    }

    /// The trimmed text as an owned string.
    pub(crate) fn string(&self) -> String {
        self.text().to_owned()
    }

    /// The text as an XML Schema boolean (`true`/`false`/`1`/`0`).
    pub(crate) fn boolean(&self, element: &'static str) -> Result<bool, Error> {
        match self.text() {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            other => Err(invalid(
                element,
                other,
                ValueKind::Other,
                ValueError::NotBoolean,
            )),
        }
    }

    /// The text as an unsigned integer.
    pub(crate) fn unsigned(&self, element: &'static str) -> Result<u32, Error> {
        let text = self.text();
        text.strip_prefix('+')
            .unwrap_or(text)
            .parse()
            .map_err(|_| invalid(element, text, ValueKind::Other, ValueError::NotInteger))
    }
}

/// Builds an [`Error::InvalidValue`].
pub(crate) fn invalid(
    element: &'static str,
    value: &str,
    kind: ValueKind,
    reason: ValueError,
) -> Error {
    Error::InvalidValue {
        element,
        value: truncate(value),
        kind,
        reason,
    }
}

fn local_part(name: &str) -> &str {
    match name.rfind(':') {
        Some(colon) => &name[colon + 1..],
        None => name,
    }
}

/// Iterator over the child elements of an element.
pub(crate) struct Children<'d, 'a> {
    doc: &'d Doc<'a>,
    next: u32,
}

impl<'d, 'a> Iterator for Children<'d, 'a> {
    type Item = El<'d, 'a>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.next == NONE {
            return None;
        }
        let element = El {
            doc: self.doc,
            index: self.next,
        };
        self.next = element.node().next;
        Some(element)
    }
}

/// Appends XML to a byte vector; every byte written is ASCII.
pub(crate) struct Writer<'o> {
    out: &'o mut Vec<u8>,
    ed6: bool,
}

impl<'o> Writer<'o> {
    pub(crate) fn new(out: &'o mut Vec<u8>, ed6: bool) -> Self {
        Self { out, ed6 }
    }

    /// Whether fields that exist only in ECMA-323 edition 6 are written.
    pub(crate) fn ed6(&self) -> bool {
        self.ed6
    }

    /// Bytes in the output so far.
    pub(crate) fn len(&self) -> usize {
        self.out.len()
    }

    /// The XML declaration every document starts with.
    pub(crate) fn declaration(&mut self) {
        self.out
            .extend_from_slice(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    }

    /// `<name>`
    pub(crate) fn open(&mut self, name: &str) {
        self.out.push(b'<');
        self.out.extend_from_slice(name.as_bytes());
        self.out.push(b'>');
    }

    /// `<name` (attributes follow, then [`Writer::open_end`]).
    pub(crate) fn open_start(&mut self, name: &str) {
        self.out.push(b'<');
        self.out.extend_from_slice(name.as_bytes());
    }

    /// ` name="value"`
    pub(crate) fn attribute(&mut self, name: &str, value: &str) {
        self.out.push(b' ');
        self.out.extend_from_slice(name.as_bytes());
        self.out.extend_from_slice(b"=\"");
        self.escaped(value);
        self.out.push(b'"');
    }

    /// `>` after [`Writer::open_start`].
    pub(crate) fn open_end(&mut self) {
        self.out.push(b'>');
    }

    /// `</name>`
    pub(crate) fn close(&mut self, name: &str) {
        self.out.extend_from_slice(b"</");
        self.out.extend_from_slice(name.as_bytes());
        self.out.push(b'>');
    }

    /// `<name/>`
    pub(crate) fn empty(&mut self, name: &str) {
        self.out.push(b'<');
        self.out.extend_from_slice(name.as_bytes());
        self.out.extend_from_slice(b"/>");
    }

    /// `<name>text</name>` with the text escaped.
    pub(crate) fn leaf(&mut self, name: &str, text: &str) {
        self.open(name);
        self.escaped(text);
        self.close(name);
    }

    /// `<name>true</name>` or `<name>false</name>`.
    pub(crate) fn boolean(&mut self, name: &str, value: bool) {
        self.leaf(name, if value { "true" } else { "false" });
    }

    /// `<name>123</name>`.
    pub(crate) fn unsigned(&mut self, name: &str, value: u32) {
        self.open(name);
        self.decimal(value);
        self.close(name);
    }

    /// The decimal digits of `value`.
    fn decimal(&mut self, value: u32) {
        let mut digits = [0u8; 10];
        let mut at = digits.len();
        let mut rest = value;
        loop {
            at -= 1;
            // `rest % 10` is below 10, so the cast cannot truncate.
            digits[at] = b'0' + (rest % 10) as u8;
            rest /= 10;
            if rest == 0 {
                break;
            }
        }
        self.out.extend_from_slice(&digits[at..]);
    }

    /// Text or attribute content: markup characters as entities, everything outside printable
    /// ASCII as a numeric character reference, so the output is pure ASCII.
    pub(crate) fn escaped(&mut self, text: &str) {
        let bytes = text.as_bytes();
        let mut start = 0;
        for (at, &byte) in bytes.iter().enumerate() {
            let plain = matches!(byte, 0x20..=0x7E) && !matches!(byte, b'<' | b'>' | b'&' | b'"');
            if plain {
                continue;
            }
            if byte >= 0x80 && !text.is_char_boundary(at) {
                // A continuation byte: its character was written at its first byte.
                start = at + 1;
                continue;
            }
            self.out.extend_from_slice(&bytes[start..at]);
            match byte {
                b'<' => self.out.extend_from_slice(b"&lt;"),
                b'>' => self.out.extend_from_slice(b"&gt;"),
                b'&' => self.out.extend_from_slice(b"&amp;"),
                b'"' => self.out.extend_from_slice(b"&quot;"),
                _ => {
                    let ch = text[at..].chars().next().map_or(0xFFFD, u32::from);
                    self.char_ref(ch);
                }
            }
            start = at + 1;
        }
        if start <= bytes.len() {
            self.out.extend_from_slice(&bytes[start..]);
        }
    }

    /// Raw XML written unchanged, except that non-ASCII characters become character references.
    pub(crate) fn raw(&mut self, xml: &str) {
        if xml.is_ascii() {
            self.out.extend_from_slice(xml.as_bytes());
            return;
        }
        for ch in xml.chars() {
            if ch.is_ascii() {
                self.out.push(ch as u8);
            } else {
                self.char_ref(u32::from(ch));
            }
        }
    }

    fn char_ref(&mut self, code: u32) {
        self.out.extend_from_slice(b"&#");
        self.decimal(code);
        self.out.push(b';');
    }
}

/// A value that is written as one element and read from one element.
pub(crate) trait Field: Sized {
    /// Reads the value from its element; `name` is the element's schema name for errors.
    fn read(element: El<'_, '_>, name: &'static str) -> Result<Self, Error>;
    /// Writes the value as an element called `name`.
    fn write(&self, writer: &mut Writer<'_>, name: &str);
}

/// How a struct field maps to child elements: required (`T`) or optional (`Option<T>`).
pub(crate) trait Slot: Sized {
    /// Reads the field from the first child with one of `names`.
    fn take(parent: El<'_, '_>, names: &[&'static str]) -> Result<Self, Error>;
    /// Writes the field as `name` (nothing for an absent optional field).
    fn put(&self, writer: &mut Writer<'_>, name: &str);
}

impl<T: Field> Slot for T {
    fn take(parent: El<'_, '_>, names: &[&'static str]) -> Result<Self, Error> {
        T::read(parent.required(names)?, names[0])
    }

    fn put(&self, writer: &mut Writer<'_>, name: &str) {
        self.write(writer, name);
    }
}

impl<T: Field> Slot for Option<T> {
    fn take(parent: El<'_, '_>, names: &[&'static str]) -> Result<Self, Error> {
        parent
            .child(names)
            .map(|child| T::read(child, names[0]))
            .transpose()
    }

    fn put(&self, writer: &mut Writer<'_>, name: &str) {
        if let Some(value) = self {
            value.write(writer, name);
        }
    }
}

/// An element of a list: `<wrapper><ITEM>..</ITEM><ITEM>..</ITEM></wrapper>`.
pub(crate) trait ListItem: Field {
    /// The element name of one item.
    const ITEM: &'static str;
}

impl<T: ListItem> Field for Vec<T> {
    fn read(element: El<'_, '_>, _name: &'static str) -> Result<Self, Error> {
        element
            .children()
            .filter(|child| child.name() == T::ITEM)
            .map(|child| T::read(child, T::ITEM))
            .collect()
    }

    fn write(&self, writer: &mut Writer<'_>, name: &str) {
        if self.is_empty() {
            writer.empty(name);
            return;
        }
        writer.open(name);
        for item in self {
            item.write(writer, T::ITEM);
        }
        writer.close(name);
    }
}

impl Field for String {
    /// Free text keeps its whitespace (`xs:string` semantics).
    fn read(element: El<'_, '_>, _name: &'static str) -> Result<Self, Error> {
        Ok(element.raw_text().to_owned())
    }

    fn write(&self, writer: &mut Writer<'_>, name: &str) {
        writer.leaf(name, self);
    }
}

impl Field for bool {
    fn read(element: El<'_, '_>, name: &'static str) -> Result<Self, Error> {
        element.boolean(name)
    }

    fn write(&self, writer: &mut Writer<'_>, name: &str) {
        writer.boolean(name, *self);
    }
}

impl Field for u32 {
    fn read(element: El<'_, '_>, name: &'static str) -> Result<Self, Error> {
        element.unsigned(name)
    }

    fn write(&self, writer: &mut Writer<'_>, name: &str) {
        writer.unsigned(name, *self);
    }
}

/// The content of a message or event root element (its children).
pub(crate) trait Body: Sized {
    /// Reads the content from the root element.
    fn read(root: El<'_, '_>) -> Result<Self, Error>;
    /// Writes the children of the root element.
    fn write(&self, writer: &mut Writer<'_>);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_tree_with_local_names_text_and_raw_inner() {
        let src = "<?xml version=\"1.0\"?>\n<a:Root xmlns:a=\"urn:x\">\n  <b>one &amp; two</b>\
                   <c x:y=\"1\" z=\"&lt;\"/><d>N&lt;1&gt;<![CDATA[<x>]]></d><e><f/>tail</e></a:Root>";
        let doc = Doc::parse(src).unwrap();
        let root = doc.root();
        assert_eq!(root.name(), "Root");
        assert_eq!(root.prefix(), Some("a"));
        assert_eq!(root.declared_namespace().as_deref(), Some("urn:x"));
        let names: Vec<_> = root.children().map(|child| child.name()).collect();
        assert_eq!(names, ["b", "c", "d", "e"]);
        assert_eq!(root.child(&["b"]).unwrap().text(), "one & two");
        let c = root.child(&["c"]).unwrap();
        assert_eq!(c.attribute("y").as_deref(), Some("1"));
        assert_eq!(c.attribute("z").as_deref(), Some("<"));
        assert_eq!(root.child(&["d"]).unwrap().text(), "N<1><x>");
        let e = root.child(&["e"]).unwrap();
        assert_eq!(e.inner_xml(), "<f/>tail");
        assert_eq!(e.text(), "");
    }

    #[test]
    fn rejects_truncated_and_illegal_input() {
        assert!(matches!(Doc::parse("<a><b>"), Err(Error::Truncated)));
        assert!(matches!(Doc::parse(""), Err(Error::NoRoot)));
        assert!(matches!(Doc::parse("  "), Err(Error::NoRoot)));
        assert!(matches!(
            Doc::parse("<a>&#1;</a>"),
            Err(Error::IllegalChar { code: 1, .. })
        ));
        assert!(matches!(
            Doc::parse("<a>&bogus;</a>"),
            Err(Error::UnknownEntity { .. })
        ));
        assert!(matches!(Doc::parse("<a></b>"), Err(Error::Xml { .. })));
    }

    #[test]
    fn ignores_content_after_the_root() {
        let doc = Doc::parse("<a>1</a><b>2</b>").unwrap();
        assert_eq!(doc.root().name(), "a");
        assert_eq!(doc.root().text(), "1");
    }

    #[test]
    fn escapes_to_pure_ascii() {
        let mut out = Vec::new();
        let mut writer = Writer::new(&mut out, false);
        writer.leaf("n", "M\u{fc}ller <&> \"\u{1F600}\"\t");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "<n>M&#252;ller &lt;&amp;&gt; &quot;&#128512;&quot;&#9;</n>"
        );
    }

    #[test]
    fn raw_xml_keeps_markup_and_escapes_non_ascii() {
        let mut out = Vec::new();
        Writer::new(&mut out, false).raw("<x a=\"\u{e9}\">\u{e9}</x>");
        assert_eq!(out, b"<x a=\"&#233;\">&#233;</x>");
    }
}
