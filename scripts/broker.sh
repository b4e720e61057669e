#!/usr/bin/env bash
# Start/stop a private ActiveMQ (Debian package) for this project: STOMP only, loopback only, with a config
# written into DIR so it never touches /etc/activemq or a system broker. Alone it is non-persistent; a pair is
# ActiveMQ's shared-storage master/slave: two brokers on one KahaDB directory, the one holding its lock serves,
# the other waits and takes over within about a second when the first dies (../shared/notes/broker-pair.md).
#
#   scripts/broker.sh ensure-installed
#   scripts/broker.sh start [--port P] [--dir DIR]            # P=0 picks a free port; prints the port last
#   scripts/broker.sh stop  [--dir DIR]
#   scripts/broker.sh start-pair [--ports P1,P2] [--dir DIR]  # 0,0 picks free ports; prints P1,P2 last
#   scripts/broker.sh stop-pair [--dir DIR]
#   scripts/broker.sh start --port P --dir DIR/a --shared DIR/shared   # one half of a pair again, after it died
#
# Every broker refuses unauthenticated clients: a user `tracker` with a random password is written to
# DIR/credentials (login and passcode on two lines, mode 600; a pair shares one), for --broker-credentials.
# --tls-port T adds a STOMP-over-TLS connector (stomp+ssl://HOST:T) with a self-signed certificate made here
# (DIR/broker.p12 for the broker, DIR/broker-ca.pem for the trackers' --broker-ca).
set -euo pipefail

readonly AMQ_HOME=/usr/share/activemq
readonly AMQ_JAR=$AMQ_HOME/bin/activemq.jar
# BROKER_HOST: another address to listen on, e.g. a bridge inside a test's own network namespace.
readonly HOST=${BROKER_HOST:-127.0.0.1}
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly REPO_ROOT

die() { echo "broker.sh: $*" >&2; exit 1; }
say() { echo "broker.sh: $*" >&2; }  # progress goes to stderr: stdout carries only the port

usage() {
  echo "usage: $0 start [--port P] [--dir DIR] | stop [--dir DIR] | start-pair [--ports P1,P2] [--dir DIR] | stop-pair [--dir DIR] | ensure-installed" >&2
  exit 2
}

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else die "need root to run: $*"
  fi
}

ensure_installed() {
  if [[ ! -f $AMQ_JAR ]]; then
    say "installing activemq with apt-get"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y activemq
  fi
  # The package pulls in a JRE through its dependencies, but a half-installed machine may lack one.
  if ! command -v java >/dev/null; then
    say "installing a Java runtime with apt-get"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y default-jre-headless
  fi
  [[ -f $AMQ_JAR ]] || die "$AMQ_JAR still missing after install"
  command -v java >/dev/null || die "java still missing after install"
}

port_open() {  # bash's /dev/tcp: no nc/ss dependency
  (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null
}

# True only for a live java process started by this script for this DIR: guards against pid reuse,
# so stop never signals a stranger.
is_our_broker() {
  local pid=$1 dir=$2 cmdline
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ $cmdline == *"-Dactivemq.base=$dir "* && $cmdline == *"$AMQ_JAR"* ]]
}

free_port() {  # stdout.write, not console.log: FORCE_COLOR (set by uvu) would colour a logged number
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{process.stdout.write(s.address().port+"\n");s.close()})'
}

# One broker of a pair: persistent (the lock lives in the persistence adapter; topic frames sent without
# persistent:true are still never written) on the shared KahaDB directory, retrying its lock every 200 ms.
# The login every tracker must present (ActiveMQ's simple authentication); made once per DIR.
ensure_credentials() {
  local file=$1
  [[ -s $file ]] && return 0
  (umask 077 && printf 'tracker\n%s\n' "$(head -c 24 /dev/urandom | base64 | tr -d '/+=')" >"$file")
}

# A self-signed certificate for the TLS connector, for the loopback address (and HOST), made once per DIR.
ensure_certificate() {
  local dir=$1 pass
  [[ -s $dir/broker.p12 && -s $dir/broker-ca.pem ]] && return 0
  pass=$(sed -n 2p "$dir/credentials")
  keytool -genkeypair -alias broker -keyalg RSA -keysize 2048 -validity 3650 -dname "CN=$HOST" \
    -ext "SAN=ip:$HOST,ip:127.0.0.1,dns:localhost" -storetype PKCS12 -keystore "$dir/broker.p12" \
    -storepass "$pass" -keypass "$pass" >/dev/null 2>&1 || die "keytool could not make a certificate"
  keytool -exportcert -rfc -alias broker -keystore "$dir/broker.p12" -storepass "$pass" -file "$dir/broker-ca.pem" \
    >/dev/null 2>&1 || die "keytool could not export the certificate"
  chmod 600 "$dir/broker.p12"
}

plugins_xml() {
  local creds=$1 pass
  pass=$(sed -n 2p "$creds")
  cat <<EOF
    <plugins>
      <simpleAuthenticationPlugin anonymousAccessAllowed="false">
        <users><authenticationUser username="tracker" password="$pass" groups="trackers"/></users>
      </simpleAuthenticationPlugin>
    </plugins>
EOF
}

# The TLS connector and its key store, when a TLS port is asked for.
tls_xml() {
  local keys=$1 tls_port=$2 pass=$3
  [[ -z $tls_port ]] && return 0
  cat <<EOF
    <sslContext><sslContext keyStore="file:$keys/broker.p12" keyStoreType="PKCS12" keyStorePassword="$pass"/></sslContext>
EOF
}

persistence_xml() {
  local shared=$1
  [[ -z $shared ]] && return 0
  cat <<EOF
    <persistenceAdapter>
      <kahaDB directory="$shared" lockKeepAlivePeriod="500">
        <locker><shared-file-locker lockAcquireSleepInterval="200"/></locker>
      </kahaDB>
    </persistenceAdapter>
EOF
}

write_config() {
  local dir=$1 port=$2 shared=${3:-} creds=${4:-$1/credentials} tls_port=${5:-} persistent=false name=udp-tracker-bus
  local keys pass
  keys=$(dirname "$creds")
  pass=$(sed -n 2p "$creds")
  if [[ -n $shared ]]; then persistent=true; name=udp-tracker-bus-$(basename "$dir"); fi
  mkdir -p "$dir/conf" "$dir/data"
  chmod 700 "$dir/conf"  # the configuration holds the broker password
  # Topic policy: a slow subscriber loses its oldest pending messages rather than stalling every
  # publisher (the cluster protocol detects gaps by sequence number and re-syncs).
  cat >"$dir/conf/activemq.xml" <<EOF
<beans xmlns="http://www.springframework.org/schema/beans"
       xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
       xsi:schemaLocation="http://www.springframework.org/schema/beans http://www.springframework.org/schema/beans/spring-beans.xsd
         http://activemq.apache.org/schema/core http://activemq.apache.org/schema/core/activemq-core.xsd">
  <broker xmlns="http://activemq.apache.org/schema/core"
          brokerName="$name"
          persistent="$persistent"
          useJmx="false"
          advisorySupport="false"
          schedulerSupport="false"
          useShutdownHook="true"
          dataDirectory="$dir/data">
$(persistence_xml "$shared")
$(plugins_xml "$creds")
$(tls_xml "$keys" "$tls_port" "$pass")
    <destinationPolicy>
      <policyMap>
        <policyEntries>
          <policyEntry topic="&gt;" producerFlowControl="false">
            <pendingMessageLimitStrategy>
              <constantPendingMessageLimitStrategy limit="10000"/>
            </pendingMessageLimitStrategy>
          </policyEntry>
        </policyEntries>
      </policyMap>
    </destinationPolicy>
    <systemUsage>
      <systemUsage>
        <memoryUsage><memoryUsage limit="64 mb"/></memoryUsage>
        <storeUsage><storeUsage limit="256 mb"/></storeUsage>
        <tempUsage><tempUsage limit="256 mb"/></tempUsage>
      </systemUsage>
    </systemUsage>
    <transportConnectors>
      <!-- tcpNoDelay: without it Nagle and delayed ACKs add ~40 ms to every small frame (one consensus round trip) -->
      <transportConnector name="stomp" uri="stomp://$HOST:$port?transport.tcpNoDelay=true"/>
$( [[ -n $tls_port ]] && echo "      <transportConnector name=\"stomp+ssl\" uri=\"stomp+ssl://$HOST:$tls_port?transport.tcpNoDelay=true\"/>")
    </transportConnectors>
  </broker>
</beans>
EOF
  # log4j 1.2 (Debian's build): console only; start() redirects the console into broker.log.
  cat >"$dir/conf/log4j.properties" <<'EOF'
log4j.rootLogger=INFO, console
log4j.logger.org.apache.activemq.transport=WARN
log4j.logger.org.springframework=WARN
log4j.logger.org.apache.xbean=WARN
log4j.appender.console=org.apache.log4j.ConsoleAppender
log4j.appender.console.layout=org.apache.log4j.PatternLayout
log4j.appender.console.layout.ConversionPattern=%d{ISO8601} %-5p %c{1} - %m%n
EOF
}

start() {
  local dir=$1 port=$2 shared=${3:-} wait_open=${4:-yes} creds=${5:-$1/credentials} tls_port=${6:-} pid
  [[ -f $AMQ_JAR ]] || die "ActiveMQ is not installed; run: $0 ensure-installed"
  command -v java >/dev/null || die "java is not installed; run: $0 ensure-installed"

  if [[ -f $dir/broker.pid ]]; then
    pid=$(<"$dir/broker.pid")
    local old_port
    old_port=$(cat "$dir/broker.port" 2>/dev/null || true)
    if is_our_broker "$pid" "$dir" && [[ $old_port =~ ^[0-9]+$ ]] && port_open "$old_port"; then
      say "already running (pid $pid)"
      echo "$old_port"
      return 0
    fi
    is_our_broker "$pid" "$dir" && die "broker pid $pid from $dir is alive but its port is closed; run: $0 stop --dir $dir"
    rm -f "$dir/broker.pid" "$dir/broker.port"
  fi

  [[ $port == 0 ]] && port=$(free_port)
  [[ $port =~ ^[0-9]+$ ]] && ((port > 0 && port < 65536)) || die "bad port: $port"
  port_open "$port" && die "port $port on $HOST is already in use"

  ensure_credentials "$creds"
  if [[ -n $tls_port ]]; then ensure_certificate "$(dirname "$creds")"; fi
  write_config "$dir" "$port" "$shared" "$creds" "$tls_port"
  # Settings measured in shared/notes/broker.md: small heap, fast start-up.
  nohup java -Xms64m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
    "-Dlog4j.configuration=file:$dir/conf/log4j.properties" \
    "-Dactivemq.home=$AMQ_HOME" "-Dactivemq.base=$dir" "-Dactivemq.conf=$dir/conf" "-Dactivemq.data=$dir/data" \
    -jar "$AMQ_JAR" start "xbean:file:$dir/conf/activemq.xml" \
    >>"$dir/broker.log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$dir/broker.pid"
  echo "$port" >"$dir/broker.port"

  local i
  for ((i = 0; i < 300; i++)); do
    # The waiting half of a pair opens its port only once it holds the lock: alive after a second is enough.
    if [[ $wait_open == no ]] && ((i >= 10)) && kill -0 "$pid" 2>/dev/null; then
      say "started pid $pid for $HOST:$port, waiting for the shared lock (log: $dir/broker.log)"
      echo "$port"
      return 0
    fi
    if port_open "$port"; then
      say "started pid $pid on $HOST:$port (log: $dir/broker.log)"
      echo "$port"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$dir/broker.pid" "$dir/broker.port"
      tail -n 20 "$dir/broker.log" >&2 || true
      die "broker exited during start-up"
    fi
    sleep 0.1
  done
  stop "$dir"
  die "broker did not open port $port within 30 s (log: $dir/broker.log)"
}

stop() {
  local dir=$1 pid i
  [[ -f $dir/broker.pid ]] || { say "no pid file in $dir; nothing to stop"; return 0; }
  pid=$(<"$dir/broker.pid")
  if is_our_broker "$pid" "$dir"; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      say "pid $pid ignored SIGTERM for 10 s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    say "stopped pid $pid"
  else
    say "pid $pid is not a running broker from $dir; removing stale pid file"
  fi
  rm -f "$dir/broker.pid"
}

# The pair: a/ serves first (its port is open when this returns), b/ waits on the lock in shared/.
start_pair() {
  local dir=$1 ports=$2 p1 p2
  [[ $ports =~ ^([0-9]+),([0-9]+)$ ]] || die "bad ports: $ports (want P1,P2)"
  p1=${BASH_REMATCH[1]} p2=${BASH_REMATCH[2]}
  [[ $p1 == 0 ]] && p1=$(free_port)
  if [[ $p2 == 0 ]]; then
    p2=$(free_port)
    while [[ $p2 == "$p1" ]]; do p2=$(free_port); done
  fi
  mkdir -p "$dir/a" "$dir/b" "$dir/shared"
  ensure_credentials "$dir/credentials"
  p1=$(start "$dir/a" "$p1" "$dir/shared" yes "$dir/credentials" | tail -n 1)
  p2=$(start "$dir/b" "$p2" "$dir/shared" no "$dir/credentials" | tail -n 1)
  echo "$p1,$p2"
}

stop_pair() {
  local dir=$1
  # The waiting one first: stopping the serving one first would hand it the lock for nothing.
  stop "$dir/b"
  stop "$dir/a"
}

main() {
  (($# >= 1)) || usage
  local cmd=$1 port=61613 ports=61613,61614 dir=$REPO_ROOT/.broker shared= tls_port=
  shift
  while (($#)); do
    case $1 in
      --port) (($# >= 2)) || usage; port=$2; shift 2 ;;
      --ports) (($# >= 2)) || usage; ports=$2; shift 2 ;;
      --shared) (($# >= 2)) || usage; shared=$(cd "$2" && pwd -P); shift 2 ;;
      --tls-port) (($# >= 2)) || usage; tls_port=$2; shift 2 ;;
      --dir) (($# >= 2)) || usage; dir=$2; shift 2 ;;
      *) usage ;;
    esac
  done
  case $cmd in
    ensure-installed) ensure_installed ;;
    start)  # --shared S: one half of a pair again (it waits for the lock in S)
      mkdir -p "$dir"
      dir=$(cd "$dir" && pwd -P)
      [[ $tls_port == 0 ]] && tls_port=$(free_port)
      # A half of a pair uses the pair's credentials (beside its shared directory).
      start "$dir" "$port" "$shared" "$([[ -n $shared ]] && echo no || echo yes)" \
        "$([[ -n $shared ]] && echo "$(dirname "$shared")/credentials" || echo "$dir/credentials")" "$tls_port"
      if [[ -n $tls_port ]]; then echo "$tls_port" >"$dir/broker.tls-port"; fi
      ;;  # absolute: java and the pid check both need it
    stop)
      [[ -d $dir ]] || { say "no $dir; nothing to stop"; return 0; }
      stop "$(cd "$dir" && pwd -P)" ;;
    start-pair)
      mkdir -p "$dir"
      start_pair "$(cd "$dir" && pwd -P)" "$ports" ;;
    stop-pair)
      [[ -d $dir ]] || { say "no $dir; nothing to stop"; return 0; }
      stop_pair "$(cd "$dir" && pwd -P)" ;;
    *) usage ;;
  esac
}

main "$@"
