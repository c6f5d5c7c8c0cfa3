//! Declarative macros that generate the repetitive parts of the model: enumerations with their
//! wire spellings, boolean groups, and the codec of plain message bodies.

/// A closed enumeration whose variants map one-to-one to schema spellings (in schema order).
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $($variant:ident = $wire:literal),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $(#[doc = concat!("`", $wire, "`")] $variant),+
        }

        impl $name {
            /// Every value, in schema order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The exact schema spelling.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $wire),+
                }
            }

            /// Parses the exact schema spelling.
            pub fn parse(text: &str) -> Option<Self> {
                match text {
                    $($wire => Some(Self::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl crate::xml::Field for $name {
            fn read(
                element: crate::xml::El<'_, '_>,
                name: &'static str,
            ) -> Result<Self, crate::error::Error> {
                let text = element.text();
                Self::parse(text).ok_or_else(|| {
                    crate::xml::invalid(
                        name,
                        text,
                        crate::error::ValueKind::Other,
                        crate::error::ValueError::UnknownValue,
                    )
                })
            }

            fn write(&self, writer: &mut crate::xml::Writer<'_>, name: &str) {
                writer.leaf(name, self.as_str());
            }
        }
    };
}

/// An open enumeration: the schema values plus `Other(String)` that keeps any unknown value.
macro_rules! open_wire_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $($variant:ident = $wire:literal),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $(#[doc = concat!("`", $wire, "`")] $variant,)+
            /// A value the schema does not list, kept as received.
            Other(String),
        }

        impl $name {
            /// Every schema value, in schema order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The wire spelling.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $wire,)+
                    Self::Other(other) => other,
                }
            }

            /// Parses a wire spelling; unknown values become `Other`.
            pub fn parse(text: &str) -> Self {
                match text {
                    $($wire => Self::$variant,)+
                    other => Self::Other(other.to_owned()),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl crate::xml::Field for $name {
            fn read(
                element: crate::xml::El<'_, '_>,
                _name: &'static str,
            ) -> Result<Self, crate::error::Error> {
                Ok(Self::parse(element.text()))
            }

            fn write(&self, writer: &mut crate::xml::Writer<'_>, name: &str) {
                writer.leaf(name, self.as_str());
            }
        }
    };
}

/// A group of schema booleans (`<group><flag>true</flag>...</group>`) as a bit set, plus the
/// enumeration of its flags. Only `true` flags are written; unknown flags are ignored on input.
macro_rules! flag_set {
    (
        $(#[$meta:meta])*
        pub struct $set:ident;
        $(#[$flag_meta:meta])*
        pub enum $flag:ident { $($variant:ident = $wire:literal),+ $(,)? }
    ) => {
        wire_enum! {
            $(#[$flag_meta])*
            pub enum $flag { $($variant = $wire),+ }
        }

        $(#[$meta])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
        pub struct $set(u64);

        impl $set {
            /// The set with no flag.
            pub const fn empty() -> Self {
                Self(0)
            }

            /// The set with every flag.
            pub fn all() -> Self {
                $flag::ALL.iter().fold(Self::empty(), |set, flag| set.with(*flag))
            }

            /// Sets a flag.
            pub fn insert(&mut self, flag: $flag) {
                self.0 |= 1 << (flag as u64);
            }

            /// Clears a flag.
            pub fn remove(&mut self, flag: $flag) {
                self.0 &= !(1 << (flag as u64));
            }

            /// The set with `flag` added.
            #[must_use]
            pub fn with(mut self, flag: $flag) -> Self {
                self.insert(flag);
                self
            }

            /// Whether the flag is set.
            pub fn contains(&self, flag: $flag) -> bool {
                self.0 & (1 << (flag as u64)) != 0
            }

            /// Whether no flag is set.
            pub fn is_empty(&self) -> bool {
                self.0 == 0
            }

            /// The set flags in schema order.
            pub fn iter(&self) -> impl Iterator<Item = $flag> + '_ {
                $flag::ALL.iter().copied().filter(move |flag| self.contains(*flag))
            }
        }

        impl FromIterator<$flag> for $set {
            fn from_iter<I: IntoIterator<Item = $flag>>(iter: I) -> Self {
                iter.into_iter().fold(Self::empty(), Self::with)
            }
        }

        impl crate::xml::Field for $set {
            fn read(
                element: crate::xml::El<'_, '_>,
                _name: &'static str,
            ) -> Result<Self, crate::error::Error> {
                let mut set = Self::empty();
                for child in element.children() {
                    let flag = match $flag::parse(child.name()) {
                        Some(flag) => flag,
                        None => continue,
                    };
                    // An empty flag element counts as set, as in capability lists.
                    let on = child.text().is_empty() || child.boolean(flag.as_str())?;
                    if on {
                        set.insert(flag);
                    }
                }
                Ok(set)
            }

            fn write(&self, writer: &mut crate::xml::Writer<'_>, name: &str) {
                if self.is_empty() {
                    writer.empty(name);
                    return;
                }
                writer.open(name);
                for flag in self.iter() {
                    writer.boolean(flag.as_str(), true);
                }
                writer.close(name);
            }
        }
    };
}

/// A message body whose fields map one-to-one to child elements, in schema order.
///
/// Field syntax: `pub name: Type = "wireName" | "alternativeSpelling", if ed6`. `Option<T>`
/// fields are optional on input; `if ed6` fields are written only for edition 6.
macro_rules! body {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(
                $(#[$field_meta:meta])*
                pub $field:ident : $ty:ty = $wire:literal $(| $alt:literal)* $(, if $cond:ident)?
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub struct $name {
            $($(#[$field_meta])* pub $field: $ty,)*
        }

        impl crate::xml::Body for $name {
            #[allow(unused_variables)]
            fn read(root: crate::xml::El<'_, '_>) -> Result<Self, crate::error::Error> {
                Ok(Self {
                    $($field: crate::xml::Slot::take(root, &[$wire $(, $alt)*])?,)*
                })
            }

            #[allow(unused_variables)]
            fn write(&self, writer: &mut crate::xml::Writer<'_>) {
                $(
                    if true $(&& writer.$cond())? {
                        crate::xml::Slot::put(&self.$field, writer, $wire);
                    }
                )*
            }
        }
    };
}

/// A body with nothing but the optional `extensions`.
macro_rules! empty_body {
    ($($(#[$meta:meta])* $name:ident;)+) => {
        $(
            body! {
                $(#[$meta])*
                #[derive(Default)]
                pub struct $name {
                    /// Private data.
                    pub extensions: Option<crate::types::Extensions> = "extensions",
                }
            }
        )+
    };
}

/// A structured value written as one element whose children are its fields (schema order):
/// a [`body!`] that also reads and writes itself as a child element.
macro_rules! record {
    (
        $(#[$meta:meta])*
        pub struct $name:ident { $($fields:tt)* }
    ) => {
        body! {
            $(#[$meta])*
            pub struct $name { $($fields)* }
        }

        impl crate::xml::Field for $name {
            fn read(
                element: crate::xml::El<'_, '_>,
                _name: &'static str,
            ) -> Result<Self, crate::error::Error> {
                <Self as crate::xml::Body>::read(element)
            }

            fn write(&self, writer: &mut crate::xml::Writer<'_>, name: &str) {
                writer.open(name);
                crate::xml::Body::write(self, writer);
                writer.close(name);
            }
        }
    };
}
