//! rgrpc-build: the code generator of rgrpc, which the `protoc-gen-rgrpc`
//! plugin runs over protoc's output and build scripts call directly, with
//! an embedded .proto parser so that no protoc is needed.
//!
//! The pipeline runs one way: descriptors -> [`Options`] and a resolved model
//! -> one emitter per concern -> formatted files.
//!
//! In a build script:
//!
//! ```no_run
//! rgrpc_build::compile_protos(&["proto/echo.proto"], &["proto"]).unwrap();
//! ```
//!
//! and in the crate, once for all packages:
//!
//! ```ignore
//! mod pb {
//!     include!(concat!(env!("OUT_DIR"), "/mod.rs"));
//! }
//! ```

mod emit;
mod encoded;
mod error;
mod model;
mod names;
mod options;
mod render;

use std::path::Path;

use prost::Message;
use prost_types::compiler::code_generator_response::{Feature, File as ResponseFile};
use prost_types::compiler::{CodeGeneratorRequest, CodeGeneratorResponse};
use prost_types::{FileDescriptorProto, FileDescriptorSet};

pub use error::Error;
pub use options::{BytesType, MapType, Options, Paths, Services, WellKnownTypes};

/// The module tree file written beside the generated files.
pub const MODULE_TREE: &str = "mod.rs";

/// A generated Rust file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedFile {
    /// The path relative to the output directory.
    pub name: String,
    /// The source.
    pub content: String,
}

/// Generates the files that a plugin request, encoded as protoc sends it,
/// asks for, with the options in its parameter.
///
/// # Errors
/// An [`Error`] when the request cannot be decoded, an option is invalid or
/// the input cannot be generated.
pub fn generate(request: &[u8]) -> Result<Vec<GeneratedFile>, Error> {
    let decoded = CodeGeneratorRequest::decode(request)
        .map_err(|err| Error::Input(format!("the input is not a CodeGeneratorRequest: {err}")))?;
    let options: Options = decoded.parameter().parse()?;
    let encoded = encoded::files(request, encoded::REQUEST_FILES, "the CodeGeneratorRequest")?;
    generate_decoded(
        &decoded.proto_file,
        &encoded,
        &decoded.file_to_generate,
        &options,
    )
}

/// Generates `files_to_generate`, whose descriptors (and those of everything
/// they import) are in `descriptor_set`, an encoded `FileDescriptorSet` (as
/// `protoc --include_imports --descriptor_set_out` or `buf build` write
/// one), plus the module tree [`MODULE_TREE`]. With source info in the set,
/// the .proto comments become doc comments.
///
/// # Errors
/// An [`Error`] when the set cannot be decoded or the input cannot be generated.
pub fn generate_files(
    descriptor_set: &[u8],
    files_to_generate: &[String],
    options: &Options,
) -> Result<Vec<GeneratedFile>, Error> {
    let decoded = FileDescriptorSet::decode(descriptor_set)
        .map_err(|err| Error::Input(format!("the input is not a FileDescriptorSet: {err}")))?;
    let encoded = encoded::files(descriptor_set, encoded::SET_FILES, "the FileDescriptorSet")?;
    generate_decoded(&decoded.file, &encoded, files_to_generate, options)
}

/// Generates `files_to_generate` from `files`, each of which is decoded
/// from the bytes at the same place in `encoded`.
fn generate_decoded(
    files: &[FileDescriptorProto],
    encoded: &[&[u8]],
    files_to_generate: &[String],
    options: &Options,
) -> Result<Vec<GeneratedFile>, Error> {
    let encoded = encoded
        .iter()
        .map(|file| encoded::without_source_info(file))
        .collect::<Result<Vec<_>, _>>()?;
    options.check()?;
    let model = model::Model::build(files, &encoded, files_to_generate, options)?;
    let mut generated = Vec::with_capacity(model.files.len() + 1);
    for file in &model.files {
        if file.output_path == MODULE_TREE {
            return Err(Error::Input(format!(
                "{} would be generated as {MODULE_TREE}, which is the module tree's name; rename the .proto file",
                file.proto_path
            )));
        }
        generated.push(GeneratedFile {
            name: file.output_path.clone(),
            content: render::render(emit::file(file, options), &file.proto_path)?,
        });
    }
    let sources: Vec<&str> = model.files.iter().map(|f| f.proto_path.as_str()).collect();
    generated.push(GeneratedFile {
        name: MODULE_TREE.to_owned(),
        content: render::render(emit::module_tree(&model), &sources.join(", "))?,
    });
    Ok(generated)
}

/// `CodeGeneratorResponse.FEATURE_SUPPORTS_EDITIONS`, newer than the
/// decoded type's enum.
const FEATURE_SUPPORTS_EDITIONS: u64 = 2;

/// The oldest edition the generator supports: proto2.
pub const MINIMUM_EDITION: i32 = 998;
/// The newest edition the generator supports: 2024.
pub const MAXIMUM_EDITION: i32 = 1001;

/// Answers a plugin request, encoded as protoc sends it, as plugin.proto
/// specifies: problems with the input or the options go in `error`, never
/// in a panic. Encode it with [`encode_response`].
pub fn respond(request: &[u8]) -> CodeGeneratorResponse {
    let mut response = CodeGeneratorResponse {
        supported_features: Some(Feature::Proto3Optional as u64 | FEATURE_SUPPORTS_EDITIONS),
        ..Default::default()
    };
    match generate(request) {
        Ok(files) => {
            response.file = files
                .into_iter()
                .map(|file| ResponseFile {
                    name: Some(file.name),
                    content: Some(file.content),
                    ..Default::default()
                })
                .collect();
        }
        Err(err) => response.error = Some(err.to_string()),
    }
    response
}

/// `response` encoded for protoc, with the editions the generator supports
/// ([`MINIMUM_EDITION`] to [`MAXIMUM_EDITION`]), which a response must
/// give when it declares editions support.
pub fn encode_response(response: &CodeGeneratorResponse) -> Vec<u8> {
    let mut encoded = response.encode_to_vec();
    // CodeGeneratorResponse.minimum_edition (3) and maximum_edition (4),
    // newer than the decoded type.
    for (number, edition) in [(3u64, MINIMUM_EDITION), (4, MAXIMUM_EDITION)] {
        prost::encoding::encode_key(
            number as u32,
            prost::encoding::WireType::Varint,
            &mut encoded,
        );
        prost::encoding::encode_varint(edition as u64, &mut encoded);
    }
    encoded
}

/// Parses .proto files with the embedded parser: the descriptors of `files`
/// and of everything they import, as an encoded `FileDescriptorSet` (source
/// info included, as `protoc --include_source_info --include_imports`
/// writes), and the names of `files` as protoc would report them.
///
/// # Errors
/// [`Error::Parse`] when a file cannot be found or parsed.
pub fn parse_protos(
    files: &[impl AsRef<Path>],
    includes: &[impl AsRef<Path>],
) -> Result<(Vec<u8>, Vec<String>), Error> {
    let parse_error = |err: protox::Error| {
        let located = located(&err);
        // protox stops at the first word of an editions file.
        match err.file() {
            Some(file) if err.to_string().ends_with("but found 'edition'") => {
                Error::Parse(format!(
                    "{located}\n{file} is written in editions, which the embedded parser (protox) \
                 cannot read yet: generate it with protoc or buf and protoc-gen-rgrpc"
                ))
            }
            _ => Error::Parse(located),
        }
    };
    let mut compiler = protox::Compiler::new(includes).map_err(parse_error)?;
    compiler.include_source_info(true).include_imports(true);
    let mut names = Vec::with_capacity(files.len());
    for file in files {
        compiler.open_file(file).map_err(parse_error)?;
        let opened = compiler
            .files()
            .find(|f| {
                f.path() == Some(file.as_ref()) || f.name() == file.as_ref().to_string_lossy()
            })
            .map(|f| f.name().to_owned())
            .ok_or_else(|| Error::Parse(format!("{} was not opened", file.as_ref().display())))?;
        if !names.contains(&opened) {
            names.push(opened);
        }
    }
    Ok((compiler.encode_file_descriptor_set(), names))
}

/// Parses `files` with the embedded parser and generates code for them.
///
/// # Errors
/// As [`parse_protos`] and [`generate_files`].
pub fn generate_from_protos(
    files: &[impl AsRef<Path>],
    includes: &[impl AsRef<Path>],
    options: &Options,
) -> Result<Vec<GeneratedFile>, Error> {
    let (descriptors, names) = parse_protos(files, includes)?;
    generate_files(&descriptors, &names, options)
}

/// Writes generated files under `dir`, creating directories as needed and
/// leaving files whose content is unchanged untouched.
///
/// # Errors
/// [`Error::Io`] when a file cannot be written.
pub fn write_files(dir: &Path, files: &[GeneratedFile]) -> Result<(), Error> {
    for file in files {
        let path = dir.join(&file.name);
        if std::fs::read_to_string(&path).is_ok_and(|old| old == file.content) {
            continue;
        }
        let io = |err: std::io::Error| Error::Io(format!("{}: {err}", path.display()));
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        std::fs::write(&path, &file.content).map_err(io)?;
    }
    Ok(())
}

/// For build scripts: generates code for `files` into `$OUT_DIR` with the
/// default options, and tells Cargo to rerun when a .proto file changes.
///
/// # Errors
/// As [`generate_from_protos`] and [`write_files`], or when `OUT_DIR` is not set.
pub fn compile_protos(
    files: &[impl AsRef<Path>],
    includes: &[impl AsRef<Path>],
) -> Result<(), Error> {
    compile_protos_with(files, includes, &Options::default())
}

/// [`compile_protos`] with explicit options.
///
/// # Errors
/// As [`compile_protos`].
pub fn compile_protos_with(
    files: &[impl AsRef<Path>],
    includes: &[impl AsRef<Path>],
    options: &Options,
) -> Result<(), Error> {
    let out_dir = std::env::var_os("OUT_DIR").ok_or_else(|| {
        Error::Io("OUT_DIR is not set: compile_protos is meant for build scripts".into())
    })?;
    let generated = generate_from_protos(files, includes, options)?;
    write_files(Path::new(&out_dir), &generated)?;
    for include in includes {
        println!("cargo:rerun-if-changed={}", include.as_ref().display());
    }
    for file in files {
        println!("cargo:rerun-if-changed={}", file.as_ref().display());
    }
    Ok(())
}

/// A parse error as protoc words one, `file:line:column: message`, with
/// the source line and a mark under what is wrong, when the parser says
/// where it is.
fn located(err: &protox::Error) -> String {
    use miette::Diagnostic;
    let message = err.to_string();
    let place = || {
        let file = err.file()?;
        let span = *err.labels()?.next()?.inner();
        let source = err.source_code()?;
        let at = source.read_span(&span, 0, 0).ok()?;
        let (line, column) = (at.line() + 1, at.column() + 1);
        // The whole line the span starts on: a line of context after a
        // span at its start reaches past its end.
        let start = span.offset() - at.column();
        let whole = source.read_span(&(start, 0).into(), 0, 1).ok()?;
        let text = String::from_utf8_lossy(whole.data());
        let first = text.lines().next().unwrap_or_default().to_owned();
        Some((file.to_owned(), line, column, first, span.len().max(1)))
    };
    match place() {
        Some((file, line, column, text, len)) => {
            let mark = format!("{}{}", " ".repeat(column - 1), "^".repeat(len));
            format!("{file}:{line}:{column}: {message}\n  {text}\n  {mark}")
        }
        None => message,
    }
}
