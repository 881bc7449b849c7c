//! Reading the portal's HTML forms from the benchmark clients (shared by the examples through
//! `#[path]`; not an example itself).

/// The value of the hidden field `name` in a rendered form.
pub fn hidden_of(body: &str, name: &str) -> anyhow::Result<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = body.find(&marker).ok_or_else(|| anyhow::anyhow!("no {name} in page"))? + marker.len();
    let end = body[start..]
        .find('"')
        .ok_or_else(|| anyhow::anyhow!("unterminated {name}"))?;
    Ok(body[start..start + end].to_owned())
}
