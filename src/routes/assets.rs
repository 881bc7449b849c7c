//! Static files, compiled into the binary so the portal serves them wherever it is installed.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// (path under /static, content type, bytes). A test checks every file in `static/` is here.
pub const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "portal.css",
        "text/css; charset=utf-8",
        include_bytes!("../../static/portal.css"),
    ),
    (
        "desk.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/desk.js"),
    ),
    (
        "favicon.svg",
        "image/svg+xml",
        include_bytes!("../../static/favicon.svg"),
    ),
    (
        "copy.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/copy.js"),
    ),
    (
        "guide/switch-button.svg",
        "image/svg+xml",
        include_bytes!("../../static/guide/switch-button.svg"),
    ),
    (
        "guide/ctrl-twice.svg",
        "image/svg+xml",
        include_bytes!("../../static/guide/ctrl-twice.svg"),
    ),
    (
        "guide/menu-passcode.svg",
        "image/svg+xml",
        include_bytes!("../../static/guide/menu-passcode.svg"),
    ),
];

pub async fn serve(Path(path): Path<String>) -> Response {
    let Some((_, content_type, bytes)) = ASSETS.iter().find(|(name, ..)| *name == path) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    response
}

/// Browsers ask for `/favicon.ico` whatever the page links; answer with the SVG icon.
pub async fn favicon() -> Response {
    serve(Path("favicon.svg".to_owned())).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_in_static_is_embedded() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("static");
        let mut files = Vec::new();
        let mut dirs = vec![root.clone()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else {
                    files.push(path.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/"));
                }
            }
        }
        for file in files {
            assert!(
                ASSETS.iter().any(|(name, ..)| *name == file),
                "static/{file} is not in ASSETS"
            );
        }
    }
}
