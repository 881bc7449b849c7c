# Sourced by scripts that start servers on 127.0.0.1.
# A port nothing listens on (a connection attempt is refused), below 32768: the kernel takes
# clients' source ports from 32768 up, so a port there may be taken by then.
free_port() {
  local port
  for _ in $(seq 50); do
    port=$((20000 + RANDOM % 12768))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return
    fi
  done
  echo "no free port found" >&2
  exit 1
}
