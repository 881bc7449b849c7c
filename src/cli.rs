//! The `portal` command line: serve, and the operator's set-up commands. Changes made here
//! reach a running server through `cache_events` within a second.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

use crate::auth::{Hasher, pepper};
use crate::config::{Config, DataArgs, ServeArgs};
use crate::db::{self, audit};
use crate::domain::installer::{InstallerDesk, InstallerDeskError};
use crate::domain::pc_credential as pc_credential_parse;
use crate::domain::{ClinicCode, Email, InstallType, Password, Role, bounded_text, optional_text};
use crate::services::{accounts, passcodes, readers};

#[derive(Parser, Debug)]
#[command(name = "portal", version, about = "目視モード support portal")]
pub struct Cli {
    #[command(flatten)]
    pub data: DataArgs,
    /// Log lines as text (no colours unless standard error is a terminal) or one JSON object each.
    #[arg(long, global = true, env = "PORTAL_LOG_FORMAT", value_enum, default_value_t = crate::telemetry::LogFormat::Text)]
    pub log_format: crate::telemetry::LogFormat,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the web server (the default).
    Serve(ServeArgs),
    /// Manage clinics.
    #[command(subcommand)]
    Clinic(ClinicCommand),
    /// Manage user accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage card readers.
    #[command(subcommand)]
    Reader(ReaderCommand),
    /// Manage a clinic's 目視確認用パスコード.
    #[command(subcommand)]
    Passcode(PasscodeCommand),
    /// Manage personal API tokens for the ticket API.
    #[command(subcommand)]
    Token(TokenCommand),
    /// The installer's own support desk that clinics are told to call.
    #[command(subcommand)]
    Installer(InstallerCommand),
    /// The online eligibility PC's sign-in details that the guide shows signed-in users.
    #[command(subcommand)]
    GuideCredential(GuideCredentialCommand),
    /// A reference card reader (or a fleet of them) against the reader API.
    ReaderSim(crate::reader_sim::SimArgs),
    /// The tamper-evident audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Write a consistent copy of the database while the portal runs (SQLite VACUUM INTO).
    Backup {
        /// The file to create; it must not exist yet.
        #[arg(long)]
        to: std::path::PathBuf,
    },
}

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Seal pending audit rows, then check the whole chain; names the first broken or missing row
    /// and exits 1 if there is one.
    Verify,
}

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Issue an API token for an agent or operator; prints it as the last line.
    Add {
        #[arg(long)]
        email: String,
        /// What the token is for, e.g. "phone system".
        #[arg(long, default_value = "command line")]
        name: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum ClinicCommand {
    /// Register a clinic by its 10-digit 医療機関コード.
    Add {
        #[arg(long)]
        code: String,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "")]
        phone: String,
        #[arg(long, default_value = "")]
        address: String,
        #[arg(long, default_value = "")]
        contact: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create an account; the password is read from standard input.
    Add {
        #[arg(long)]
        email: String,
        /// operator, agent or clinic-admin
        #[arg(long)]
        role: String,
        /// The clinic's 医療機関コード (clinic admins only).
        #[arg(long)]
        clinic: Option<String>,
    },
    /// Turn off an account's two-step verification (a lost phone, and no operator left who
    /// can sign in to do it on the web); audited, and the user is told by mail.
    ResetMfa {
        #[arg(long)]
        email: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum ReaderCommand {
    /// Enroll a reader; prints its device token as the last line.
    Add {
        #[arg(long)]
        clinic: String,
        #[arg(long)]
        name: String,
        /// standalone (単独設置型) or shared (併設設置型)
        #[arg(long, default_value = "standalone")]
        install_type: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum InstallerCommand {
    /// Set the desk's name, phone number and hours (all empty clears it).
    Set {
        #[arg(long)]
        name: String,
        /// Digits and hyphens, e.g. 0120-123-456.
        #[arg(long)]
        phone: String,
        /// Opening hours as free text, e.g. "平日 9:00～18:00".
        #[arg(long, default_value = "")]
        hours: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum GuideCredentialCommand {
    /// Set the installer-wide default, or a clinic's own with --clinic; the password is read
    /// from standard input (never from the command line, where `ps` would show it).
    Set {
        /// The clinic's 医療機関コード; without it, the default for every clinic without its own.
        #[arg(long)]
        clinic: Option<String>,
        #[arg(long)]
        username: String,
    },
    /// Remove the default, or a clinic's own with --clinic (its users then see the default).
    Clear {
        #[arg(long)]
        clinic: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum PasscodeCommand {
    /// Issue a new passcode (the old one stops working); prints it as the last line.
    Issue {
        #[arg(long)]
        clinic: String,
    },
}

/// Runs a set-up command (everything except `serve`).
pub async fn run_admin(data: &DataArgs, command: Command) -> anyhow::Result<()> {
    let config = Config::from_args(data, None);
    config.prepare_data_dir()?;
    config.check_shared_secrets()?;
    let pool = db::connect(&config.database_url).await?;
    let actor = audit::Actor::CommandLine;
    let result = match command {
        Command::Serve(_) | Command::ReaderSim(_) => bail!("not a set-up command"),
        Command::Clinic(ClinicCommand::Add {
            code,
            name,
            phone,
            address,
            contact,
        }) => {
            let code = ClinicCode::parse(&code).map_err(|e| anyhow::anyhow!("invalid 医療機関コード {code:?}: {e}"))?;
            let name = bounded_text(&name, 100).context("the clinic name must be 1 to 100 characters")?;
            let phone = optional_text(&phone, 30).context("the phone number is too long (30 characters at most)")?;
            let address = optional_text(&address, 200).context("the address is too long (200 characters at most)")?;
            let contact =
                optional_text(&contact, 100).context("the contact name is too long (100 characters at most)")?;
            let input = accounts::ClinicInput {
                code: &code,
                name: &name,
                phone: &phone,
                address: &address,
                contact_name: &contact,
            };
            accounts::create_clinic(&pool, &actor, &input).await?;
            println!("clinic {code} {name} added");
            Ok(())
        }
        Command::User(UserCommand::Add { email, role, clinic }) => {
            let email = Email::parse(&email).map_err(|e| anyhow::anyhow!("{e}"))?;
            let role = Role::parse_cli(&role).context("--role must be operator, agent or clinic-admin")?;
            let clinic = clinic
                .map(|c| ClinicCode::parse(&c).map_err(|e| anyhow::anyhow!("invalid 医療機関コード {c:?}: {e}")))
                .transpose()?;
            let password = Password::parse(&read_password()?).map_err(|e| anyhow::anyhow!("{e}"))?;
            let hasher = Hasher::new(load_pepper(&config, &pool).await?)?;
            let input = accounts::UserInput {
                email: &email,
                password: &password,
                role,
                clinic: clinic.as_ref(),
                temporary: false,
            };
            accounts::create_user(&pool, &hasher, &actor, &input).await?;
            println!("user {email} added as {}", role.as_db());
            if role == Role::Operator {
                println!(
                    "at their first sign-in the portal asks them to set up two-step verification (an authenticator app)"
                );
            }
            Ok(())
        }
        Command::User(UserCommand::ResetMfa { email }) => {
            let email = Email::parse(&email).map_err(|e| anyhow::anyhow!("{e}"))?;
            let user = crate::db::users::by_email(&pool, email.as_str())
                .await?
                .with_context(|| format!("no account has the address {email}"))?;
            if crate::services::totp::reset(&pool, &actor, &user, None).await? {
                println!("two-step verification of {email} turned off; they set it up again at their next sign-in");
            } else {
                println!("{email} had no two-step verification");
            }
            Ok(())
        }
        Command::Reader(ReaderCommand::Add {
            clinic,
            name,
            install_type,
        }) => {
            let clinic = find_clinic(&pool, &clinic).await?;
            let name = bounded_text(&name, 60).context("the reader name must be 1 to 60 characters")?;
            let install_type =
                InstallType::parse(&install_type).context("--install-type must be standalone or shared")?;
            let enrolled = readers::enroll(&pool, &actor, clinic.id, &name, install_type, None).await?;
            println!(
                "reader {} ({name}) enrolled for clinic {}; its device token (shown once):",
                enrolled.reader_id, clinic.code
            );
            println!("{}", enrolled.token.expose());
            Ok(())
        }
        Command::Passcode(PasscodeCommand::Issue { clinic }) => {
            let clinic = find_clinic(&pool, &clinic).await?;
            let hasher = Hasher::new(load_pepper(&config, &pool).await?)?;
            let issued = passcodes::issue_unconfirmed(&pool, &hasher, &actor, clinic.id, None).await?;
            println!(
                "passcode generation {} issued for clinic {}; the previous one no longer works. The new code (shown once):",
                issued.generation, clinic.code
            );
            println!("{}", issued.code.expose());
            Ok(())
        }
        Command::Installer(InstallerCommand::Set { name, phone, hours }) => {
            let desk = InstallerDesk::parse(&name, &phone, &hours).map_err(|e| {
                anyhow::anyhow!(match e {
                    InstallerDeskError::Name => "--name must be 1 to 60 characters",
                    InstallerDeskError::Phone => "--phone must be digits and hyphens, e.g. 0120-123-456",
                    InstallerDeskError::Hours => "--hours must be at most 100 characters",
                })
            })?;
            crate::services::installer::set(&pool, &actor, None, &desk).await?;
            if desk.is_set() {
                println!("installer desk set: {} {} {}", desk.name, desk.phone, desk.hours);
            } else {
                println!("installer desk cleared");
            }
            Ok(())
        }
        Command::GuideCredential(command) => guide_credential(&config, &pool, &actor, command).await,
        Command::Backup { to } => {
            if to.exists() {
                bail!("{} already exists; choose a new file", to.display());
            }
            let target = to.to_str().context("the backup path must be valid UTF-8")?;
            db::backup(&pool, target).await?;
            let size = std::fs::metadata(&to).map(|m| m.len()).unwrap_or(0);
            println!("backup written to {} ({size} bytes)", to.display());
            println!(
                "also keep {} (the passcode pepper) safe: without it the stored passcodes cannot be verified",
                config.data_dir.join(pepper::FILE_NAME).display()
            );
            println!(
                "and {} (the audit key): without it the audit log cannot be verified",
                config.data_dir.join(crate::auth::audit_key::FILE_NAME).display()
            );
            Ok(())
        }
        Command::Audit(AuditCommand::Verify) => {
            let key = crate::auth::audit_key::load_or_create(
                config.audit_key.as_ref(),
                &config.data_dir,
                audit::chain_started(&pool).await?,
            )?;
            match crate::services::audit_chain::seal_and_verify(&pool, &key, db::now()).await? {
                Ok(verified) => {
                    match &verified.last {
                        Some((position, mac)) => {
                            println!("OK: {} rows verified, last position {position}", verified.rows);
                            println!(
                                "last MAC begins {mac}: compare with the newest \"audit log sealed\" line in the \
                                 server's log to see that no rows were cut from the end"
                            );
                        }
                        None => println!("OK: 0 rows verified, last position 0"),
                    }
                    if verified.pending > 0 {
                        println!(
                            "{} rows written in the last moments are not sealed yet",
                            verified.pending
                        );
                    }
                    Ok(())
                }
                Err(broken) => Err(anyhow::anyhow!("audit log broken: {broken}")),
            }
        }
        Command::Token(TokenCommand::Add { email, name }) => {
            let email = Email::parse(&email).map_err(|e| anyhow::anyhow!("{e}"))?;
            let name = bounded_text(&name, 60).context("the token name must be 1 to 60 characters")?;
            let issued = accounts::issue_api_token(&pool, &actor, &email, &name).await?;
            println!("API token {} ({name}) issued for {email}; shown once:", issued.id);
            println!("{}", issued.token.expose());
            Ok(())
        }
    };
    pool.close().await;
    result
}

async fn guide_credential(
    config: &Config,
    pool: &db::Pool,
    actor: &audit::Actor,
    command: GuideCredentialCommand,
) -> anyhow::Result<()> {
    use crate::services::pc_credential::{self, Scope, SetError};
    let code = match &command {
        GuideCredentialCommand::Set { clinic, .. } | GuideCredentialCommand::Clear { clinic } => clinic.clone(),
    };
    let clinic = match code {
        Some(code) => Some(find_clinic(pool, &code).await?),
        None => None,
    };
    let scope = clinic.as_ref().map_or(Scope::Default, |c| Scope::Clinic {
        id: c.id,
        code: &c.code,
    });
    let named = clinic
        .as_ref()
        .map_or_else(|| "the default".to_owned(), |c| format!("clinic {}", c.code));
    match command {
        GuideCredentialCommand::Set { username, .. } => {
            let username = pc_credential_parse::parse_username(&username)
                .map_err(|_| anyhow::anyhow!("--username must be 1 to 64 characters, without control characters"))?;
            let typed = read_secret("PC sign-in password")?;
            let password = pc_credential_parse::parse_password(&typed)
                .ok()
                .flatten()
                .context("the password must be 1 to 128 characters, without control characters")?;
            let key = crate::auth::SealingKey::derive(&load_pepper(config, pool).await?)?;
            match pc_credential::set(pool, &key, actor, None, scope, &username, Some(&password)).await {
                Ok(()) => {}
                Err(SetError::Invalid(e)) => bail!("cannot set the PC sign-in details: {e:?}"),
                Err(SetError::Other(e)) => return Err(e),
            }
            println!("PC sign-in details set for {named} (user name {username})");
        }
        GuideCredentialCommand::Clear { .. } => {
            if pc_credential::clear(pool, actor, None, scope).await? {
                println!("PC sign-in details cleared for {named}");
            } else {
                println!("no PC sign-in details were set for {named}");
            }
        }
    }
    Ok(())
}

async fn find_clinic(pool: &db::Pool, code: &str) -> anyhow::Result<db::clinics::Clinic> {
    let parsed = ClinicCode::parse(code).map_err(|e| anyhow::anyhow!("invalid 医療機関コード {code:?}: {e}"))?;
    db::clinics::by_code(pool, parsed.as_str())
        .await?
        .with_context(|| format!("no clinic has 医療機関コード {parsed}"))
}

async fn load_pepper(config: &Config, pool: &db::Pool) -> anyhow::Result<crate::domain::Secret<Vec<u8>>> {
    let in_use = db::pepper_in_use(pool).await?;
    let pepper = pepper::load_or_create(config.passcode_pepper.as_ref(), &config.data_dir, in_use)?;
    pepper::check_against_database(pool, &pepper).await?;
    Ok(pepper)
}

fn read_password() -> anyhow::Result<String> {
    read_secret("password (12 characters or more)")
}

/// One line from standard input (a prompt on a terminal), without its line ending.
fn read_secret(prompt: &str) -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("{prompt}: ");
        std::io::stderr().flush()?;
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.is_empty() {
        bail!("no password on standard input (pipe it in, e.g. `printf '%s\\n' \"$PASSWORD\" | portal ...`)");
    }
    Ok(password)
}
