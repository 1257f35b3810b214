# cords-export then cords-import gives back the same model stream, metadata
# included, for every format that can carry it.
. "$(dirname "$0")/lib.sh"
cords-init -q --classes 5 --in-channels 3 --height 20 --width 24 -D 4 -s 3 -o "$T/m.tzst"
# a protocol and normalisation other than the defaults cords-import would give
cords-cat -n meta "$T/m.tzst" | cords-cat -m | grep -v '^# ' > "$T/meta.txt"
expect_exit 0 "export --safetensors" cords-export --safetensors "$T/m.safetensors" "$T/m.tzst"
expect_exit 0 "import it back" cords-import -o "$T/back.tzst" "$T/m.safetensors"
check "the same metadata (protocol, normalisation, input size)" \
	sh -c "cords-cat -m '$T/back.tzst' | grep -v '^# ' | cmp -s - '$T/meta.txt'"
check "the same model stream, byte for byte once decompressed" sh -c "zstdcat '$T/m.tzst' | cmp -s - \"\$(zstdcat '$T/back.tzst' > '$T/b.raw'; echo '$T/b.raw')\""
