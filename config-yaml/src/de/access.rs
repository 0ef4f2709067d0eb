//! Serde's access traits over sequences, mappings and enums: where failing elements are
//! recorded and skipped (see [`collect`]) and unknown struct fields reported.

use std::iter::Enumerate;
use std::slice;

use serde::de::{self, DeserializeSeed, Visitor};

use crate::node::{Entry, Node};

use super::collect;
use super::error::{Error, Problem, Value};
use super::node_de::NodeDe;

// === SeqDe ===

/// The elements of a sequence, minus skipped ones; paths keep the document's indexes.
pub(crate) struct SeqDe<'a, 'de> {
    items: Enumerate<slice::Iter<'de, Node>>,
    parent: &'a NodeDe<'de>,
}

impl<'a, 'de> SeqDe<'a, 'de> {
    pub(crate) fn new(items: &'de [Node], parent: &'a NodeDe<'de>) -> Self {
        Self {
            items: items.iter().enumerate(),
            parent,
        }
    }

    /// How many elements the visitor has not read, not counting skipped ones.
    pub(crate) fn remaining(&mut self) -> usize {
        let parent = self.parent;
        self.items
            .by_ref()
            .filter(|(index, _)| !parent.ctx.is_skipped(&parent.path.index(*index)))
            .count()
    }
}

impl<'de> de::SeqAccess<'de> for SeqDe<'_, 'de> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        let ctx = self.parent.ctx;
        for (index, item) in self.items.by_ref() {
            let path = self.parent.path.index(index);
            if ctx.is_skipped(&path) {
                continue;
            }
            return collect(ctx, item, path, |de| seed.deserialize(de)).map(Some);
        }
        Ok(None)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

// === MapDe ===

/// The entries of a mapping, minus skipped ones and, for structs, unknown keys.
pub(crate) struct MapDe<'a, 'de> {
    entries: slice::Iter<'de, Entry>,
    parent: &'a NodeDe<'de>,
    /// A struct's field names; `None` accepts every key.
    fields: Option<&'static [&'static str]>,
    /// The value of the key just returned.
    value: Option<&'de Entry>,
}

impl<'a, 'de> MapDe<'a, 'de> {
    pub(crate) fn new(
        entries: &'de [Entry],
        parent: &'a NodeDe<'de>,
        fields: Option<&'static [&'static str]>,
    ) -> Self {
        Self {
            entries: entries.iter(),
            parent,
            fields,
            value: None,
        }
    }
}

impl<'de> de::MapAccess<'de> for MapDe<'_, 'de> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let ctx = self.parent.ctx;
        for entry in self.entries.by_ref() {
            let key = entry.key_text();
            let path = self.parent.path.key(key);
            if ctx.is_skipped(&path) {
                continue;
            }
            if let Some(fields) = self.fields
                && !fields.contains(&key)
            {
                let problem = Problem::unknown("field", key, fields).located(&entry.key, &path);
                ctx.record(problem);
                continue;
            }
            let key = collect(ctx, &entry.key, path, |de| seed.deserialize(de))?;
            self.value = Some(entry);
            return Ok(Some(key));
        }
        Ok(None)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let ctx = self.parent.ctx;
        let Some(entry) = self.value.take() else {
            return Err(de::Error::custom("a map value was read before its key"));
        };
        let path = self.parent.path.key(entry.key_text());
        collect(ctx, &entry.value, path, |de| seed.deserialize(de))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

// === EnumDe ===

/// An externally tagged enum value: a variant name, and its content when written as a mapping.
pub(crate) struct EnumDe<'a, 'de> {
    pub(crate) parent: &'a NodeDe<'de>,
    /// The node naming the variant: the scalar itself, or the mapping's only key.
    pub(crate) variant: &'de Node,
    pub(crate) name: &'de str,
    pub(crate) content: Option<&'de Node>,
}

impl<'a, 'de> de::EnumAccess<'de> for EnumDe<'a, 'de> {
    type Error = Error;
    type Variant = Self;

    fn variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<(S::Value, Self), Error> {
        // An unknown variant is reported at the name, under the enum's own path.
        let de = NodeDe::new(self.variant, self.parent.path.clone(), self.parent.ctx);
        let variant = seed
            .deserialize(de)
            .map_err(|e| e.leaving(self.variant, &self.parent.path, self.parent.ctx))?;
        Ok((variant, self))
    }
}

impl<'de> EnumDe<'_, 'de> {
    /// The content's deserializer, or an error when the variant was written without one.
    fn content(&self) -> Result<NodeDe<'de>, Error> {
        let Some(content) = self.content else {
            let problem = format!("variant `{}` needs a value", self.name);
            let hint = format!("write it as `{}: ...`", self.name);
            let problem = Problem::new(Value::None, problem).hint(hint);
            return Err(Error::problem(
                problem.located(self.variant, &self.parent.path),
            ));
        };
        let path = self.parent.path.key(self.name);
        Ok(NodeDe::new(content, path, self.parent.ctx))
    }
}

impl<'de> de::VariantAccess<'de> for EnumDe<'_, 'de> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        match self.content {
            Some(content) if !content.is_null() => {
                let problem = format!("variant `{}` takes no value", self.name);
                let hint = format!("write just `{}`", self.name);
                let problem = Problem::new(Value::Given(content.describe()), problem).hint(hint);
                let path = self.parent.path.key(self.name);
                Err(Error::problem(problem.located(content, &path)))
            }
            _ => Ok(()),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Error> {
        let de = self.content()?;
        let (node, path, ctx) = (de.node, de.path.clone(), de.ctx);
        seed.deserialize(de)
            .map_err(|e| e.leaving(node, &path, ctx))
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_seq(self.content()?, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_struct(self.content()?, "", fields, visitor)
    }
}
