# shellcheck shell=bash
# Fetching artifacts from Maven Central, for scripts/services (sourced by it; uses log and die).
#
# Every download of the scripts (the OpenSearch distribution, the analysis-common
# module) goes through maven_fetch, so that fetching, caching and error reporting are
# written once. mvn does the download: it resolves from its local repository
# (~/.m2/repository) first, verifies Central's checksums of what it downloads, and
# copies the artifact into a scratch directory; the file then moves into place, so a
# destination that exists and is non-empty is complete and is never fetched again.

# maven_fetch GROUP ARTIFACT VERSION EXT DEST [WHO]
# Copies GROUP:ARTIFACT:VERSION:EXT to the file DEST unless DEST is already there and
# non-empty. WHO starts the progress line (default maven). Exits 1 when mvn fails.
maven_fetch() {
    local group=$1 artifact=$2 version=$3 ext=$4 dest=$5 who=${6:-maven}
    [[ -s $dest ]] && return 0
    local coords="$group:$artifact:$version:$ext"
    local file="$artifact-$version.$ext"
    local downloads
    downloads=$(dirname "$dest")
    # Maven comes from apt the first time anything is fetched, whichever artifact that is.
    command -v mvn >/dev/null 2>&1 || apt_install maven
    command -v mvn >/dev/null 2>&1 || die "mvn not found; it is needed to fetch $coords"
    install -d -m 755 "$downloads"
    # Scratch directories of an earlier fetch that was interrupted.
    rm -rf "$downloads"/.fetch.*
    local tmp out
    tmp=$(mktemp -d "$downloads/.fetch.XXXXXX")
    local cmd=(mvn -B -q dependency:copy "-Dartifact=$coords" "-DoutputDirectory=$tmp")
    log "$who: fetching $coords from Maven"
    # Run from the empty directory so that no pom.xml around is picked up.
    if ! out=$(cd "$tmp" && "${cmd[@]}" 2>&1); then
        rm -rf "$tmp"
        printf 'services: error: could not fetch %s; this failed (in an empty directory):\n  %s\n%s\n' \
            "$coords" "${cmd[*]}" "$out" >&2
        exit 1
    fi
    if [[ ! -s $tmp/$file ]]; then
        printf 'services: error: this left no %s in %s:\n  %s\n%s\n' \
            "$file" "$tmp" "${cmd[*]}" "$out" >&2
        exit 1
    fi
    mv -f "$tmp/$file" "$dest"
    rm -rf "$tmp"
}
