//! Running flatc to compile a `.fbs` schema into a `.bfbs`.

use std::ffi::OsString;
use std::path::Path;
use std::process::Command;

use crate::error::ReflectError;

/// Runs `flatc -b --schema --bfbs-builtins` on `path` into a temporary
/// directory and returns the `.bfbs` bytes.
///
/// `--bfbs-builtins` keeps the attributes flatc's own JSON printer needs
/// (`bit_flags`, `nested_flatbuffer`). Includes are searched in the schema's
/// directory.
pub(crate) fn compile(flatc: &Path, path: &Path) -> Result<Vec<u8>, ReflectError> {
    let read_error = |source| ReflectError::ReadSchema {
        path: path.to_owned(),
        source,
    };
    // A missing schema is reported as such, not as whatever flatc says.
    std::fs::metadata(path).map_err(read_error)?;
    // flatc records file names relative to the schema's directory only when
    // the path has one: an absolute path gives the same `.bfbs` from any
    // working directory.
    let path = &std::path::absolute(path).map_err(read_error)?;
    let out = tempfile::tempdir().map_err(read_error)?;
    let mut command = Command::new(flatc);
    command
        .args(["-b", "--schema", "--bfbs-builtins", "-o"])
        .arg(out.path());
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        command.arg("-I").arg(dir);
    }
    let output = command
        .arg(path)
        .output()
        .map_err(|source| ReflectError::FlatcNotFound {
            program: flatc.to_owned(),
            path: path.to_owned(),
            source,
        })?;
    let failed = |stderr: String| ReflectError::Flatc {
        path: path.to_owned(),
        status: output.status,
        stderr,
    };
    if !output.status.success() {
        return Err(failed(trimmed(&output.stderr)));
    }
    let mut name = OsString::from(path.file_stem().unwrap_or_default());
    name.push(".bfbs");
    let bfbs = out.path().join(name);
    std::fs::read(&bfbs).map_err(|err| {
        failed(format!(
            "no `{}` after a successful run ({err}); flatc said: {}",
            bfbs.display(),
            trimmed(&output.stderr)
        ))
    })
}

/// flatc's standard error without its usage text, which it prints on every
/// error.
fn trimmed(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let errors: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .skip_while(|line| !line.starts_with("error:") && !line.contains("error"))
        .collect();
    if errors.is_empty() {
        text.trim().to_owned()
    } else {
        errors.join(" ")
    }
}
