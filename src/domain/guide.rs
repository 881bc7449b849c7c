//! Guides: versioned content files parsed into typed steps and validated, so a broken guide
//! stops the portal at start-up (and fails the tests) instead of stranding someone mid-way.

use std::collections::{HashMap, HashSet, VecDeque};

use serde::Deserialize;

use super::contact_hours::Hours;

/// The guides shipped in this repository (compiled in: the portal reads no files at run time).
pub const SOURCES: &[(&str, &str)] = &[("mokushi", include_str!("../../content/guides/mokushi.toml"))];

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Text {
    pub ja: String,
    pub en: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Paragraphs {
    pub ja: Vec<String>,
    pub en: Vec<String>,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum NoteKind {
    Info,
    Warning,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Note {
    pub kind: NoteKind,
    pub text: Text,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Block {
    /// The contact centre, with whether it is open now.
    Contact,
    /// Remote-desktop addresses by 設置形態 (the clinic's own highlighted when known).
    RemoteDesktop,
    /// The PC sign-in details operators set (the clinic's own or the default): signed-in users
    /// only, masked until revealed. Never in the content file.
    PcLogin,
    /// Issuing the passcode in the portal and the readers' pick-up.
    PortalPasscode,
    /// The installer's own support desk (name, phone, hours as operators set them), where the
    /// manual says to call the installer.
    Installer,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Choice {
    pub label: Text,
    pub next: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub code: String,
    pub section: Text,
    pub title: Text,
    pub body: Paragraphs,
    #[serde(default)]
    pub notes: Vec<Note>,
    #[serde(default)]
    pub blocks: Vec<Block>,
    pub illustration: Option<String>,
    pub illustration_alt: Option<Text>,
    #[serde(default)]
    pub choices: Vec<Choice>,
    pub next: Option<String>,
    #[serde(default)]
    pub end: bool,
}

impl Block {
    pub fn name(self) -> &'static str {
        match self {
            Self::Contact => "contact",
            Self::RemoteDesktop => "remote_desktop",
            Self::PcLogin => "pc_login",
            Self::PortalPasscode => "portal_passcode",
            Self::Installer => "installer",
        }
    }
}

impl Note {
    pub fn is_warning(&self) -> bool {
        self.kind == NoteKind::Warning
    }
}

impl Step {
    /// Whether the step shows the live block named `name` (templates ask by name).
    pub fn shows(&self, name: &str) -> bool {
        self.blocks.iter().any(|b| b.name() == name)
    }

    /// Where this step can lead.
    pub fn successors(&self) -> Vec<&str> {
        let mut next: Vec<&str> = self.choices.iter().map(|c| c.next.as_str()).collect();
        next.extend(self.next.as_deref());
        next
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpeningHours {
    pub open: String,
    pub close: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    pub name: Text,
    pub phone: String,
    pub note: Text,
    pub weekday_hours: OpeningHours,
    pub saturday_hours: OpeningHours,
    pub hours_text: Text,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteDesktop {
    pub standalone: String,
    pub shared: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Guide {
    pub id: String,
    pub version: String,
    pub start: String,
    pub title: Text,
    pub summary: Text,
    pub source: Text,
    pub contact: Contact,
    pub remote_desktop: RemoteDesktop,
    pub steps: Vec<Step>,
    /// Filled by validation: fewest steps from each step to an end.
    #[serde(skip)]
    pub steps_to_end: HashMap<String, usize>,
    /// Filled by validation: where each step stands in the whole procedure, in percent (see
    /// [`forward_progress`]).
    #[serde(skip)]
    pub position: HashMap<String, u8>,
    #[serde(skip)]
    index: HashMap<String, usize>,
}

fn parse_time(value: &str) -> Option<time::Time> {
    let format = time::macros::format_description!("[hour]:[minute]");
    time::Time::parse(value, &format).ok()
}

impl Guide {
    /// Parses and validates a guide; every problem found is reported, not just the first.
    pub fn parse(source: &str) -> Result<Self, Vec<String>> {
        let mut guide: Guide = toml::from_str(source).map_err(|e| vec![e.to_string()])?;
        let mut problems = Vec::new();
        let mut texts: Vec<(&str, &Text)> = vec![
            ("title", &guide.title),
            ("summary", &guide.summary),
            ("source", &guide.source),
        ];
        texts.push(("contact.name", &guide.contact.name));
        texts.push(("contact.note", &guide.contact.note));
        texts.push(("contact.hours_text", &guide.contact.hours_text));
        for step in &guide.steps {
            texts.push((&step.code, &step.section));
            texts.push((&step.code, &step.title));
            texts.extend(step.notes.iter().map(|n| (step.code.as_str(), &n.text)));
            texts.extend(step.choices.iter().map(|c| (step.code.as_str(), &c.label)));
            texts.extend(step.illustration_alt.iter().map(|t| (step.code.as_str(), t)));
            if step.body.ja.len() != step.body.en.len()
                || step.body.ja.iter().chain(&step.body.en).any(|p| p.trim().is_empty())
            {
                problems.push(format!(
                    "{}: the body needs the same number of non-empty paragraphs in ja and en",
                    step.code
                ));
            }
            if step.illustration.is_some() != step.illustration_alt.is_some() {
                problems.push(format!(
                    "{}: an illustration needs its alt text, and only then",
                    step.code
                ));
            }
            let exits =
                usize::from(!step.choices.is_empty()) + usize::from(step.next.is_some()) + usize::from(step.end);
            if exits != 1 {
                problems.push(format!(
                    "{}: a step has exactly one of choices, next or end = true",
                    step.code
                ));
            }
            let code_ok = step.code.split_once('-').is_some_and(|(a, n)| {
                a.len() == 1
                    && a.chars().all(|c| c.is_ascii_uppercase())
                    && !n.is_empty()
                    && n.chars().all(|c| c.is_ascii_digit())
            });
            if !code_ok {
                problems.push(format!(
                    "{}: codes look like B-3 (a letter, a dash, a number)",
                    step.code
                ));
            }
        }
        for (place, text) in texts {
            if text.ja.trim().is_empty() || text.en.trim().is_empty() {
                problems.push(format!("{place}: a text is missing its Japanese or English"));
            }
        }
        if parse_time(&guide.contact.weekday_hours.open).is_none()
            || parse_time(&guide.contact.weekday_hours.close).is_none()
            || parse_time(&guide.contact.saturday_hours.open).is_none()
            || parse_time(&guide.contact.saturday_hours.close).is_none()
        {
            problems.push("contact: opening hours are HH:MM".to_owned());
        }

        let mut index = HashMap::new();
        for (i, step) in guide.steps.iter().enumerate() {
            if index.insert(step.code.clone(), i).is_some() {
                problems.push(format!("{}: the code is used twice", step.code));
            }
        }
        if !index.contains_key(&guide.start) {
            problems.push(format!("start {:?} is not a step", guide.start));
        } else if guide.steps.first().is_some_and(|s| s.code != guide.start) {
            problems.push(format!("start {:?} must be the first step listed", guide.start));
        }
        for step in &guide.steps {
            for next in step.successors() {
                if !index.contains_key(next) {
                    problems.push(format!("{}: leads to {next:?}, which is not a step", step.code));
                }
            }
        }
        // Everything reachable from the start…
        let mut seen = HashSet::new();
        let mut queue = VecDeque::from([guide.start.as_str()]);
        while let Some(code) = queue.pop_front() {
            if !seen.insert(code) {
                continue;
            }
            if let Some(&i) = index.get(code) {
                queue.extend(guide.steps[i].successors());
            }
        }
        for step in &guide.steps {
            if !seen.contains(step.code.as_str()) {
                problems.push(format!("{}: cannot be reached from the start", step.code));
            }
        }
        // …and every step leads to an end (no dead ends, no endless loops).
        let mut steps_to_end: HashMap<String, usize> = HashMap::new();
        let mut queue: VecDeque<(&str, usize)> = guide
            .steps
            .iter()
            .filter(|s| s.end)
            .map(|s| (s.code.as_str(), 0))
            .collect();
        while let Some((code, distance)) = queue.pop_front() {
            if steps_to_end.contains_key(code) {
                continue;
            }
            steps_to_end.insert(code.to_owned(), distance);
            for step in &guide.steps {
                if step.successors().contains(&code) {
                    queue.push_back((step.code.as_str(), distance + 1));
                }
            }
        }
        for step in &guide.steps {
            if !steps_to_end.contains_key(&step.code) {
                problems.push(format!("{}: no way from here to an end", step.code));
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let position = forward_progress(&guide.steps, &index).map_err(|p| vec![p])?;
        guide.steps_to_end = steps_to_end;
        guide.position = position;
        guide.index = index;
        Ok(guide)
    }

    /// The progress bar on `code` after walking `path`: the furthest position reached so far.
    /// Appending a step never lowers a maximum, so the bar never goes backwards on any walk,
    /// also when a choice leads back to an earlier step (a retry); ends show 100 %.
    pub fn progress(&self, path: &[String], code: &str) -> u8 {
        path.iter()
            .map(String::as_str)
            .chain(std::iter::once(code))
            .filter_map(|c| self.position.get(c).copied())
            .max()
            .unwrap_or(0)
    }

    pub fn step(&self, code: &str) -> Option<&Step> {
        self.index.get(code).map(|&i| &self.steps[i])
    }

    pub fn contact_hours(&self) -> Hours {
        let t = |v: &str| parse_time(v).unwrap_or(time::Time::MIDNIGHT);
        Hours {
            weekday: (
                t(&self.contact.weekday_hours.open),
                t(&self.contact.weekday_hours.close),
            ),
            saturday: (
                t(&self.contact.saturday_hours.open),
                t(&self.contact.saturday_hours.close),
            ),
        }
    }

    /// A `path` query value (codes of the steps taken) with unknown codes dropped.
    pub fn parse_path(&self, value: &str) -> Vec<String> {
        value
            .split(',')
            .map(str::trim)
            .filter(|c| self.index.contains_key(*c))
            .take(64)
            .map(str::to_owned)
            .collect()
    }
}

/// Each step's position in the procedure, in percent: `(before + 1) / (before + 1 + after)`,
/// where `before` is the longest way from the start to the step and `after` the longest way on
/// to an end, both counted only along *forward* choices (to a step listed later in the file).
/// Steps are listed in walking order, so the forward choices form a graph without loops and the
/// file order is a topological order. Along a forward choice u → v, before(u) < before(v) and
/// after(u) > after(v), so the position strictly grows; a choice back to an earlier step is a
/// retry, for which [`Guide::progress`] holds the bar where it was. Ends are at 100 %.
fn forward_progress(steps: &[Step], index: &HashMap<String, usize>) -> Result<HashMap<String, u8>, String> {
    let forward = |i: usize| -> Vec<usize> {
        steps[i]
            .successors()
            .iter()
            .filter_map(|c| index.get(*c).copied())
            .filter(|&j| j > i)
            .collect()
    };
    let mut before: Vec<Option<usize>> = vec![None; steps.len()];
    if let Some(first) = before.first_mut() {
        *first = Some(0);
    }
    for i in 0..steps.len() {
        let Some(b) = before[i] else {
            return Err(format!(
                "{}: not reached from the start through steps listed before it (list steps in walking order)",
                steps[i].code
            ));
        };
        for j in forward(i) {
            before[j] = Some(before[j].map_or(b + 1, |old| old.max(b + 1)));
        }
    }
    let mut after: Vec<usize> = vec![0; steps.len()];
    for i in (0..steps.len()).rev() {
        if steps[i].end {
            continue;
        }
        let Some(longest) = forward(i).iter().map(|&j| after[j] + 1).max() else {
            return Err(format!(
                "{}: every choice leads back to an earlier step; one must lead on (list steps in walking order)",
                steps[i].code
            ));
        };
        after[i] = longest;
    }
    Ok(steps
        .iter()
        .enumerate()
        .map(|(i, step)| {
            let done = before[i].unwrap_or(0) + 1;
            let percent = if step.end { 100 } else { done * 100 / (done + after[i]) };
            (step.code.clone(), u8::try_from(percent).unwrap_or(100))
        })
        .collect())
}

/// All guides, validated.
pub fn load_all() -> Result<Vec<Guide>, String> {
    SOURCES
        .iter()
        .map(|(name, source)| Guide::parse(source).map_err(|problems| format!("guide {name}: {}", problems.join("; "))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guide() -> Guide {
        load_all().expect("the shipped guides are valid").remove(0)
    }

    fn all_text(g: &Guide) -> String {
        let mut text = String::new();
        for s in &g.steps {
            for t in [&s.section, &s.title] {
                text.push_str(&t.ja);
            }
            text.push_str(&s.body.ja.join(" "));
            for n in &s.notes {
                text.push_str(&n.text.ja);
            }
        }
        text
    }

    #[test]
    fn the_shipped_guide_is_valid_and_every_step_leads_to_an_end() {
        let g = guide();
        assert_eq!(g.id, "mokushi");
        assert!(g.steps.len() >= 15);
        for step in &g.steps {
            assert!(g.steps_to_end.contains_key(&step.code), "{}", step.code);
        }
    }

    #[test]
    fn the_facts_of_the_manual_are_present() {
        let g = guide();
        assert_eq!(g.contact.phone, "0800-080-4583");
        assert_eq!(
            (
                g.contact.weekday_hours.open.as_str(),
                g.contact.weekday_hours.close.as_str()
            ),
            ("08:00", "18:00")
        );
        assert_eq!(
            (
                g.contact.saturday_hours.open.as_str(),
                g.contact.saturday_hours.close.as_str()
            ),
            ("08:00", "16:00")
        );
        assert_eq!(g.remote_desktop.standalone, "10.51.1.2:53389");
        assert_eq!(g.remote_desktop.shared, "172.31.10.10:53389");
        let text = all_text(&g);
        assert!(text.contains("令和7年4月6日"));
        for method in [
            "① 切り替えスイッチを1回押す",
            "② Ctrl キーを2回続けて押す",
            "③ Opt.one 機からリモートデスクトップ",
        ] {
            assert!(g.steps.iter().any(|s| s.title.ja.starts_with(method)), "{method}");
        }
        for (i, mark) in ["(ア)", "(イ)", "(ウ)", "(エ)", "(オ)", "(カ)"].iter().enumerate() {
            let step = g.step(&format!("C-{}", i + 2)).unwrap();
            assert!(step.title.ja.starts_with(mark), "{mark}");
        }
        assert!(text.contains("パスワードは、絶対に変更しないでください"));
        assert!(text.contains("古いパスコードは使えなく"));
        assert!(g.steps.iter().any(|s| s.blocks.contains(&Block::PcLogin)));
    }

    #[test]
    fn broken_guides_are_refused_with_every_reason() {
        let source = SOURCES[0].1;
        let dangling = source.replacen("next = \"C-3\"", "next = \"Z-9\"", 1);
        let problems = Guide::parse(&dangling).unwrap_err();
        assert!(problems.iter().any(|p| p.contains("Z-9")), "{problems:?}");
        assert!(
            problems.iter().any(|p| p.contains("C-3: cannot be reached")),
            "{problems:?}"
        );

        let no_english = source.replacen("en = \"Choose how to switch\"", "en = \"\"", 1);
        assert!(
            Guide::parse(&no_english)
                .unwrap_err()
                .iter()
                .any(|p| p.contains("Japanese or English"))
        );

        let dead_end = source.replacen("end = true", "", 1);
        let problems = Guide::parse(&dead_end).unwrap_err();
        assert!(problems.iter().any(|p| p.contains("exactly one of")), "{problems:?}");
        assert!(Guide::parse("id = 1").is_err());
    }

    /// Every walk from the start of up to `len` steps (choices and "next" alike, retries too).
    fn walks(g: &Guide, len: usize) -> Vec<Vec<String>> {
        let mut all = Vec::new();
        let mut frontier = vec![vec![g.start.clone()]];
        while let Some(walk) = frontier.pop() {
            let last = g.step(walk.last().unwrap()).unwrap();
            for next in last.successors() {
                let mut longer = walk.clone();
                longer.push(next.to_owned());
                if longer.len() < len {
                    frontier.push(longer.clone());
                }
                all.push(longer);
            }
        }
        all
    }

    #[test]
    fn the_progress_bar_never_goes_backwards_on_any_edge_of_any_walk() {
        let g = guide();
        let walks = walks(&g, 24);
        assert!(walks.len() > 1000, "{}", walks.len());
        let mut edges_seen = HashSet::new();
        for walk in &walks {
            let (before, rest) = walk.split_at(walk.len() - 1);
            let (path_to_u, u) = before.split_at(before.len() - 1);
            let at_u = g.progress(path_to_u, &u[0]);
            let at_v = g.progress(before, &rest[0]);
            assert!(at_v >= at_u, "{walk:?}: {at_u} % then {at_v} %");
            edges_seen.insert((u[0].clone(), rest[0].clone()));
        }
        let all_edges: HashSet<(String, String)> = g
            .steps
            .iter()
            .flat_map(|s| s.successors().into_iter().map(|n| (s.code.clone(), n.to_owned())))
            .collect();
        assert_eq!(edges_seen, all_edges, "every edge was walked");
    }

    #[test]
    fn the_position_grows_along_every_forward_choice_and_ends_are_full() {
        let g = guide();
        let order: HashMap<&str, usize> = g.steps.iter().enumerate().map(|(i, s)| (s.code.as_str(), i)).collect();
        for step in &g.steps {
            let here = g.position[&step.code];
            assert!(here > 0 && here <= 100, "{}", step.code);
            assert_eq!(here == 100, step.end, "{}: only ends are at 100 %", step.code);
            for next in step.successors() {
                if order[next] > order[step.code.as_str()] {
                    assert!(g.position[next] > here, "{} → {next}", step.code);
                }
            }
        }
        // The reported regression: B-2 → C-1 went from 60 % to 28 %.
        let path: Vec<String> = ["A-1", "B-1"].map(str::to_owned).to_vec();
        let at_b2 = g.progress(&path, "B-2");
        let path: Vec<String> = ["A-1", "B-1", "B-2"].map(str::to_owned).to_vec();
        assert!(g.progress(&path, "C-1") > at_b2);
        // A retry (D-2 → E-1) holds the bar where it was.
        let path: Vec<String> = ["A-1", "D-1", "D-2"].map(str::to_owned).to_vec();
        assert_eq!(g.progress(&path, "E-1"), g.position["D-2"]);
    }

    #[test]
    fn guides_out_of_walking_order_are_refused() {
        let source = SOURCES[0].1;
        let start = source.find("[[steps]]\ncode = \"A-1\"").unwrap();
        let second = start + 1 + source[start + 1..].find("[[steps]]").unwrap();
        let moved = format!("{}{}\n{}", &source[..start], &source[second..], &source[start..second]);
        let problems = Guide::parse(&moved).unwrap_err();
        assert!(
            problems.iter().any(|p| p.contains("must be the first step")),
            "{problems:?}"
        );
    }

    #[test]
    fn a_remote_desktop_that_does_not_connect_leads_to_whoever_installed_it() {
        let g = guide();
        let b4 = g.step("B-4").unwrap();
        let failed = b4
            .choices
            .iter()
            .find(|c| c.label.ja == "接続できない")
            .expect("a way out");
        let who = g.step(&failed.next).unwrap();
        let targets: Vec<&Step> = who.choices.iter().map(|c| g.step(&c.next).unwrap()).collect();
        assert!(
            targets.iter().any(|s| s.end && s.blocks.contains(&Block::Installer)),
            "our desk"
        );
        assert!(
            targets
                .iter()
                .any(|s| s.end && s.body.ja.concat().contains("設置した業者にお問い合わせください")),
            "the other installer, as the manual says"
        );
    }

    #[test]
    fn paths_keep_only_known_codes() {
        let g = guide();
        assert_eq!(g.parse_path("A-1,B-1,<script>,Z-9,B-4"), vec!["A-1", "B-1", "B-4"]);
        assert!(g.parse_path("").is_empty());
    }

    #[test]
    fn illustrations_exist_in_static() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("static/guide");
        for step in &guide().steps {
            if let Some(file) = &step.illustration {
                assert!(root.join(file).is_file(), "{file}");
            }
        }
    }
}
