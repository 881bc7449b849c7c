/// 設置形態 of a card reader's オンライン資格確認 PC; it decides the remote-desktop address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InstallType {
    /// 単独設置型
    Standalone,
    /// 併設設置型
    Shared,
}

impl InstallType {
    pub fn as_db(self) -> &'static str {
        match self {
            Self::Standalone => "standalone",
            Self::Shared => "shared",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value.trim() {
            "standalone" | "単独設置型" => Some(Self::Standalone),
            "shared" | "併設設置型" => Some(Self::Shared),
            _ => None,
        }
    }

    pub fn label_key(self) -> &'static str {
        match self {
            Self::Standalone => "install.standalone",
            Self::Shared => "install.shared",
        }
    }
}
