/* Embeds demo_page.html into the binary. DEMO_PAGE: its minified copy (Makefile). */
    .section .rodata
    .global wspush_demo_page_begin
    .global wspush_demo_page_end
wspush_demo_page_begin:
    .incbin DEMO_PAGE
wspush_demo_page_end:
    .byte 0
    /* %progbits, not @progbits: @ starts a comment in arm assembly. */
    .section .note.GNU-stack,"",%progbits
