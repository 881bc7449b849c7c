//! `portal`: parses the command line, sets up logging and hands over to the library.

use clap::Parser;
use portal::cli::{Cli, Command, run_admin};
use portal::config::{Config, ServeArgs};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let serving = matches!(cli.command, None | Some(Command::Serve(_)));
    let default_filter = if serving {
        "info,sqlx=warn,tower_http=info"
    } else {
        "warn"
    };
    portal::telemetry::init(cli.log_format, default_filter);
    let result = match cli.command {
        None => serve(&cli.data, &default_serve_args()).await,
        Some(Command::Serve(args)) => serve(&cli.data, &args).await,
        Some(Command::ReaderSim(args)) => portal::reader_sim::run(args).await,
        Some(command) => run_admin(&cli.data, command).await,
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// `portal` alone behaves as `portal serve` with its defaults and environment.
fn default_serve_args() -> ServeArgs {
    #[derive(Parser)]
    struct ServeOnly {
        #[command(flatten)]
        args: ServeArgs,
    }
    ServeOnly::parse_from(["portal"]).args
}

async fn serve(data: &portal::config::DataArgs, args: &ServeArgs) -> anyhow::Result<()> {
    let config = Config::from_args(data, Some(args));
    let url = config.display_url();
    let addr = config.addr;
    let metrics_addr = config.metrics_addr;
    let portal = portal::build(config).await?;
    let listener = listen(addr).map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
    if let Some(metrics_addr) = metrics_addr {
        let metrics = tokio::net::TcpListener::bind(metrics_addr)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen for metrics on {metrics_addr}: {e}"))?;
        let router = portal::metrics::router(portal.state().clone());
        // The bound address: with port 0 the system chose one, and this line is how to find it.
        let metrics_addr = metrics.local_addr().unwrap_or(metrics_addr);
        tracing::info!(addr = %metrics_addr, "metrics at /metrics");
        tokio::spawn(async move {
            if let Err(e) = axum::serve(metrics, router).await {
                tracing::error!(error = %e, "the metrics listener stopped");
            }
        });
    }
    println!("目視モード support portal: open {url}");
    if let Some(token) = portal.setup_token() {
        println!();
        println!("First-run setup: no account exists yet. Open {url}/setup and enter this one-time setup token:");
        println!("    {token}");
        println!("(or create an operator with `portal user add --email <e> --role operator`)");
    }
    portal.serve(listener, shutdown_signal()).await
}

/// Connections the kernel queues before the portal accepts them. `TcpListener::bind` asks for
/// 128 (std's value), which overflows when thousands of readers reconnect at once (a restarted
/// neighbour's readers arriving through nginx, a network blip): the kernel then drops them and
/// they retry after 1 s, 3 s… (`TcpExtListenOverflows` in bench/replicas.sh at 200,000 readers).
/// The kernel caps it at `net.core.somaxconn` (4096 by default since Linux 5.4).
const LISTEN_BACKLOG: u32 = 4096;

fn listen(addr: std::net::SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    // As `TcpListener::bind` does: a restarted portal can listen again at once.
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
