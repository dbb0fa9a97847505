//! [`FileDescriptor`]: a .proto file's descriptor, as generated code
//! embeds it.

use std::fmt;

use crate::Message;
use crate::wire::DecodeError;
use crate::wkt::FileDescriptorProto;

/// The descriptor of one .proto file: its `FileDescriptorProto`, encoded
/// exactly as the parser (protoc, or the embedded one) produced it, without
/// source info, and the descriptors of the files it imports.
///
/// `protoc-gen-rgrpc` writes one `FILE_...` static per file (unless told
/// `descriptors=false`), and each generated service names the file that
/// declares it, which is how server reflection describes a server's
/// services.
pub struct FileDescriptor {
    name: &'static str,
    encoded: &'static [u8],
    dependencies: &'static [&'static FileDescriptor],
}

impl FileDescriptor {
    /// The descriptor of the file `name` (as its importers name it, such
    /// as `google/protobuf/empty.proto`), whose encoded
    /// `FileDescriptorProto` is `encoded`, and which imports
    /// `dependencies`, in the order of its `import` lines.
    pub const fn new(
        name: &'static str,
        encoded: &'static [u8],
        dependencies: &'static [&'static FileDescriptor],
    ) -> Self {
        Self {
            name,
            encoded,
            dependencies,
        }
    }

    /// The file's name, such as `echo.proto`.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The encoded `FileDescriptorProto`.
    pub fn encoded(&self) -> &'static [u8] {
        self.encoded
    }

    /// The descriptors of the files this one imports.
    pub fn dependencies(&self) -> &'static [&'static FileDescriptor] {
        self.dependencies
    }

    /// The `FileDescriptorProto`, decoded.
    ///
    /// # Errors
    /// When the encoded bytes are not a `FileDescriptorProto`, which
    /// generated code never gives.
    pub fn decode(&self) -> Result<FileDescriptorProto, DecodeError> {
        FileDescriptorProto::decode(self.encoded)
    }

    /// This file and every file it imports, directly or not, each once,
    /// every file after the files it imports.
    pub fn with_dependencies(&'static self) -> Vec<&'static FileDescriptor> {
        let mut files: Vec<&'static FileDescriptor> = Vec::new();
        // Depth first, a file is pushed once its imports are: the order
        // that a descriptor pool builds files in.
        let mut stack: Vec<(&'static FileDescriptor, usize)> = vec![(self, 0)];
        while let Some((file, next)) = stack.pop() {
            if files.iter().any(|seen| std::ptr::eq(*seen, file)) {
                continue;
            }
            match file.dependencies.get(next) {
                Some(dependency) => {
                    stack.push((file, next + 1));
                    let pending = stack.iter().any(|(f, _)| std::ptr::eq(*f, *dependency));
                    // protoc refuses import cycles; a hand-made one is cut.
                    if !pending {
                        stack.push((dependency, 0));
                    }
                }
                None => files.push(file),
            }
        }
        files
    }
}

impl fmt::Debug for FileDescriptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileDescriptor")
            .field("name", &self.name)
            .field("encoded", &format_args!("{} bytes", self.encoded.len()))
            .field(
                "dependencies",
                &self.dependencies.iter().map(|d| d.name).collect::<Vec<_>>(),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static BASE: FileDescriptor = FileDescriptor::new("base.proto", b"\n\nbase.proto", &[]);
    static LEFT: FileDescriptor = FileDescriptor::new("left.proto", b"", &[&BASE]);
    static RIGHT: FileDescriptor = FileDescriptor::new("right.proto", b"", &[&BASE]);
    static TOP: FileDescriptor = FileDescriptor::new("top.proto", b"", &[&LEFT, &RIGHT]);

    #[test]
    fn dependencies_come_first_and_once() {
        let names: Vec<_> = TOP.with_dependencies().iter().map(|f| f.name()).collect();
        assert_eq!(
            names,
            ["base.proto", "left.proto", "right.proto", "top.proto"]
        );
        assert_eq!(BASE.decode().unwrap().name(), "base.proto");
        assert_eq!(
            format!("{TOP:?}"),
            "FileDescriptor { name: \"top.proto\", encoded: 0 bytes, dependencies: [\"left.proto\", \"right.proto\"] }"
        );
    }
}
