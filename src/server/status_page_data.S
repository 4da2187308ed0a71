/* Embeds status_page.html into the binary. STATUS_PAGE: its minified copy (Makefile). */
    .section .rodata
    .global wspush_status_page_begin
    .global wspush_status_page_end
wspush_status_page_begin:
    .incbin STATUS_PAGE
wspush_status_page_end:
    .byte 0
    /* %progbits, not @progbits: @ starts a comment in arm assembly. */
    .section .note.GNU-stack,"",%progbits
