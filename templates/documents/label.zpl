{#- The parcel label in ZPL II, 4 × 6 in, for 203 and 300 dpi thermal printers (services/zpl.py).
    Positions and sizes are millimetres through dots(mm); width and height are the label in dots.
    Every {{ value }} is escaped (^ ~ _ arrive as _5E _7E _5F): put ^FH_ before each ^FD with data.
    zpl_lines joins lines for one ^FB block. Printers ignore line breaks between commands.
    Fields: sender, recipient (lists of lines), method, shipment_number, order_id, index, count,
    weight, tracking_code, tracking_url (either may be none), number (the 18-digit SSCC), sscc_text.
    The same boxes as the PDF label (labels.html): from, to, facts, tracking, SSCC. -#}
{% set tracked = tracking_code or tracking_url %}
{% set x = dots(4) %}
{% set inner = width - 2 * x %}
{% set rule = dots(0.5) %}
^XA
^CI28
^PW{{ width }}
^LL{{ height }}
^LH0,0
{# From: small, two lines at most #}
^FO{{ x }},{{ dots(4) }}^A0N,{{ dots(2.6) }},{{ dots(2.6) }}^FB{{ inner }},2,{{ dots(0.6) }},L^FH_^FDFROM   {{ sender|join(", ") }}^FS
^FO{{ x }},{{ dots(11) }}^GB{{ inner }},{{ rule }},{{ rule }}^FS
{# To: large, wrapped, seven lines at most #}
^FO{{ x }},{{ dots(13) }}^A0N,{{ dots(2.6) }},{{ dots(2.6) }}^FDTO^FS
^FO{{ x }},{{ dots(17) }}^A0N,{{ dots(5) }},{{ dots(5) }}^FB{{ inner }},8,{{ dots(0.6) }},L^FH_^FD{{ recipient|zpl_lines }}^FS
^FO{{ x }},{{ dots(64) }}^GB{{ inner }},{{ rule }},{{ rule }}^FS
{# Facts: method, shipment and order on the left; parcel n of m and weight on the right #}
^FO{{ x }},{{ dots(66.5) }}^A0N,{{ dots(3.6) }},{{ dots(3.6) }}^FB{{ dots(54) }},2,{{ dots(0.5) }},L^FH_^FD{{ method }}^FS
^FO{{ x }},{{ dots(75) }}^A0N,{{ dots(3.2) }},{{ dots(3.2) }}^FB{{ dots(54) }},1,0,L^FH_^FDShipment {{ shipment_number }}^FS
{% if order_id %}
^FO{{ x }},{{ dots(80) }}^A0N,{{ dots(3.2) }},{{ dots(3.2) }}^FB{{ dots(54) }},1,0,L^FH_^FDOrder {{ order_id }}^FS
{% endif %}
^FO{{ x + dots(56) }},{{ dots(66.5) }}^A0N,{{ dots(4.4) }},{{ dots(4.4) }}^FB{{ inner - dots(56) }},2,0,R^FH_^FDParcel {{ index }} of {{ count }}^FS
^FO{{ x + dots(56) }},{{ dots(78.5) }}^A0N,{{ dots(4) }},{{ dots(4) }}^FB{{ inner - dots(56) }},1,0,R^FH_^FD{{ weight }}^FS
^FO{{ x }},{{ dots(85) }}^GB{{ inner }},{{ rule }},{{ rule }}^FS
{# Tracking: the QR of the tracking URL (level M) and the code beside it. The QR and its quiet
   zone fit the 24 mm band: 0.5 mm modules, smaller ones for a longer URL (a bigger code). #}
{% if tracked %}
{% if tracking_url %}
{% set qr_module = dots(0.5) if tracking_url|length <= 100 else dots(0.375) if tracking_url|length <= 200 else dots(0.25) %}
^FO{{ x }},{{ dots(87) }}^BQN,2,{{ qr_module }}^FH_^FDMA,{{ tracking_url }}^FS
{% endif %}
{% if tracking_code %}
^FO{{ x + dots(26) }},{{ dots(89) }}^A0N,{{ dots(3.6) }},{{ dots(3.6) }}^FB{{ inner - dots(26) }},1,0,L^FH_^FDTracking {{ tracking_code }}^FS
{% endif %}
{# the URL in pieces ^FB can wrap at (it wraps only at spaces), four lines at most #}
{% if tracking_url %}
^FO{{ x + dots(26) }},{{ dots(95) }}^A0N,{{ dots(2.6) }},{{ dots(2.6) }}^FB{{ inner - dots(26) }},4,{{ dots(0.4) }},L^FH_^FD{{ tracking_url|truncate(170, true, "…", 0)|wordwrap(42, true, " ") }}^FS
{% endif %}
^FO{{ x }},{{ dots(111) }}^GB{{ inner }},{{ rule }},{{ rule }}^FS
{% endif %}
{# SSCC: GS1-128, Code 128 started in subset C (>;) with FNC1 (>8), then AI 00 and the 18 digits:
   156 modules of 0.5 mm, centred, quiet zones well over 10 modules. Without tracking it moves
   up into the tracking band and its bars grow. #}
{% set top = dots(113) if tracked else dots(87) %}
{% set bars = dots(25) if tracked else dots(45) %}
{% set module = dots(0.5) %}
^FO{{ x }},{{ top }}^A0N,{{ dots(2.6) }},{{ dots(2.6) }}^FDSSCC^FS
^FO{{ (width - 156 * module) // 2 }},{{ top + dots(4) }}^BY{{ module }}^BCN,{{ bars }},N,N,N^FD>;>800{{ number }}^FS
^FO0,{{ top + dots(5.5) + bars }}^A0N,{{ dots(4) }},{{ dots(4) }}^FB{{ width }},1,0,C^FH_^FD{{ sscc_text }}^FS
^XZ
