#!/bin/sh
# Shrinks the demo page for embedding: drops indentation, whole-line // comments, trailing
# "  // ..." comments (two or more spaces before them: the page's style, never inside one of
# its strings or regular expressions) and blank lines. The page is written without
# multi-line strings or <pre> text, so none of this changes what it does.
#   tools/minify-page.sh IN > OUT
set -eu
sed -e 's/^[[:space:]]*//' -e '/^\/\//d' -e 's/[[:space:]][[:space:]]\{1,\}\/\/ .*$//' -e '/^$/d' "$1"
