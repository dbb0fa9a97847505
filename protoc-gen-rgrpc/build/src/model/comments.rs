//! Comments from `SourceCodeInfo`, looked up by descriptor path.

use std::collections::HashMap;

use prost_types::FileDescriptorProto;

/// Descriptor path components (see `SourceCodeInfo.Location.path` in descriptor.proto).
pub mod path {
    /// `FileDescriptorProto.message_type`.
    pub const FILE_MESSAGE: i32 = 4;
    /// `FileDescriptorProto.enum_type`.
    pub const FILE_ENUM: i32 = 5;
    /// `FileDescriptorProto.service`.
    pub const FILE_SERVICE: i32 = 6;
    /// `DescriptorProto.field`.
    pub const MESSAGE_FIELD: i32 = 2;
    /// `DescriptorProto.nested_type`.
    pub const MESSAGE_NESTED: i32 = 3;
    /// `DescriptorProto.enum_type`.
    pub const MESSAGE_ENUM: i32 = 4;
    /// `DescriptorProto.oneof_decl`.
    pub const MESSAGE_ONEOF: i32 = 8;
    /// `EnumDescriptorProto.value`.
    pub const ENUM_VALUE: i32 = 2;
    /// `ServiceDescriptorProto.method`.
    pub const SERVICE_METHOD: i32 = 2;
}

/// The comments of one file, by element path.
pub struct Comments(HashMap<Vec<i32>, String>);

impl Comments {
    /// Collects the leading comments of `file` (or the trailing ones where there is no leading comment).
    pub fn of(file: &FileDescriptorProto) -> Self {
        let mut map = HashMap::new();
        if let Some(info) = &file.source_code_info {
            for location in &info.location {
                let text = location
                    .leading_comments
                    .as_deref()
                    .filter(|c| !c.trim().is_empty())
                    .or(location.trailing_comments.as_deref())
                    .unwrap_or_default();
                if !text.trim().is_empty() {
                    map.entry(location.path.clone())
                        .or_insert_with(|| text.to_owned());
                }
            }
        }
        Self(map)
    }

    /// The comment on the element at `path`, or an empty string.
    pub fn get(&self, path: &[i32]) -> String {
        self.0.get(path).cloned().unwrap_or_default()
    }
}
