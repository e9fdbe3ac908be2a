# Guest side of the unmodified-application runs (Tools/test.d/52-preload.sh,
# ./Tools/demo.sh): Debian's redis-server and nginx serve the lab peer on
# each NIC in turn, through the LD_PRELOAD library (dataplane) or on the
# guest kernel's own stack (linux), the binaries the same.
#
#   sh guest-apps.sh dataplane|linux
#
# Order (the peer, apps-peer.py, follows it): redis on 10.0.0.2 (e1000,
# 0000:00:10.0), nginx on 10.0.0.2, redis on 10.0.1.2 (virtio-net,
# 0000:00:11.0), nginx on 10.0.1.2. redis stops when the peer sends
# SHUTDOWN NOSAVE; nginx when the peer fetches /stop (logged to a file
# this script watches). Each app has at most 300 s.
mode=$1
mkdir -p /tmp/www /tmp/nginx-temp
# The peer checks these bytes (a fixed pattern, no randomness in the guest).
awk 'BEGIN { for (i = 0; i < 1024; i++) printf "%c", 65 + (i * 7) % 26 }' > /tmp/www/1k.bin
i=0; : > /tmp/www/100k.bin; while [ $i -lt 100 ]; do cat /tmp/www/1k.bin >> /tmp/www/100k.bin; i=$((i + 1)); done

if [ "$mode" = linux ]; then
  . /lab/guest-addresses.sh
fi

# run_app NAME PCI IP COMMAND...: the app under the library (or not), until it stops.
run_app() {
  name=$1 pci=$2 address=$3; shift 3
  echo "APPS start $name $address ($mode)"
  if [ "$mode" = dataplane ]; then
    LD_PRELOAD=/lab/libdataplane-preload.so DP_ARGS="--pci $pci --ip $address/24 --pool-size 16384" "$@" &
  else
    "$@" &
  fi
  pid=$!
  if [ "$name" = nginx ]; then
    waited=0
    while [ $waited -lt 3000 ] && ! grep -q stop /tmp/nginx-stop.log 2>/dev/null && kill -0 $pid 2>/dev/null; do
      sleep 0.1; waited=$((waited + 1))
    done
    kill -QUIT $pid 2>/dev/null
  else
    ( sleep 300; kill -TERM $pid 2>/dev/null ) &
    watchdog=$!
  fi
  wait $pid
  echo "APPS stop $name $address status $?"
  [ -n "${watchdog:-}" ] && kill $watchdog 2>/dev/null
  watchdog=
  rm -f /tmp/nginx-stop.log
}

nginx_conf() {
  cat > /tmp/nginx.conf <<CONF
daemon off;
master_process off;
worker_processes 1;
error_log stderr warn;
pid /tmp/nginx.pid;
events { use epoll; worker_connections 4096; }
http {
    access_log off;
    sendfile on;
    tcp_nodelay on;
    keepalive_requests 1000000;
    client_body_temp_path /tmp/nginx-temp;
    proxy_temp_path /tmp/nginx-temp;
    fastcgi_temp_path /tmp/nginx-temp;
    uwsgi_temp_path /tmp/nginx-temp;
    scgi_temp_path /tmp/nginx-temp;
    server {
        listen $1:80;
        root /tmp/www;
        location = /stop { access_log /tmp/nginx-stop.log; return 204; }
    }
}
CONF
}

for nic in "0000:00:10.0 10.0.0.2" "0000:00:11.0 10.0.1.2"; do
  set -- $nic
  pci=$1 address=$2
  run_app redis "$pci" "$address" redis-server --port 6379 --bind "$address" --save "" --appendonly no \
    --protected-mode no --daemonize no --logfile "" --loglevel warning
  nginx_conf "$address"
  run_app nginx "$pci" "$address" nginx -c /tmp/nginx.conf -e stderr
done
echo "APPS guest done"
