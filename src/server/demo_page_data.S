/* Embeds demo_page.html into the binary (no generator tool needed at build time). */
    .section .rodata
    .global wspush_demo_page_begin
    .global wspush_demo_page_end
wspush_demo_page_begin:
    .incbin "src/server/demo_page.html"
wspush_demo_page_end:
    .byte 0
    .section .note.GNU-stack,"",@progbits
