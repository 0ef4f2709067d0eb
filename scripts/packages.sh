# Sourced by test.sh and drills.sh: `ensure_packages "package|check" ...` installs the Debian
# packages whose check command fails (as root, with apt-get), or lists them and exits 3.
# Debian starts packaged services on install; they are stopped, since tests and drills
# start their own instances on free ports.
ensure_packages() {
  local entry missing=() service
  for entry in "$@"; do
    bash -c "${entry#*|}" >/dev/null 2>&1 || missing+=("${entry%%|*}")
  done
  ((${#missing[@]})) || return 0
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "installing: ${missing[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    for service in "${missing[@]}"; do
      service "$service" stop >/dev/null 2>&1 || true
    done
  else
    echo "missing packages: ${missing[*]} (run this script as root once, or apt-get install them)" >&2
    exit 3
  fi
}
